#!/bin/sh
# A stand-in for the kdpipe binary in executor tests: it does what a stage's command must do —
# write its output under --out — in milliseconds, and records when it started and ended in
# stand_in.log of the run directory (its working directory). A command whose first word is
# "fail" exits 3 with a message, as a failing stage would.
out=""
prev=""
for a in "$@"; do
  [ "$prev" = "--out" ] && out="$a"
  prev="$a"
done
echo "start $out" >> stand_in.log
sleep 0.0$(( $$ % 5 ))
if [ "$1" = "fail" ]; then
  echo "stand-in: failing as asked" >&2
  echo "fail $out" >> stand_in.log
  exit 3
fi
case "$out" in
  *.h5) mkdir -p "$(dirname "$out")" && : > "$out" ;;
  *) mkdir -p "$out" && echo '{"stand_in": true}' > "$out/metrics.json" ;;
esac
echo "end $out" >> stand_in.log
