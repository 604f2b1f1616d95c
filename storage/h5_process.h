// The one process-wide HDF5 concern the CLI has, without HDF5's headers.
#pragma once

namespace kd {

/// Ends the process now with `status` when HDF5 still holds a file open. A file HDF5 could not
/// close (its last write failed: a full disk) crashes HDF5's own library shutdown at exit, so the
/// process ends without it (standard streams flushed first). Returns when no file is open.
void exit_now_if_hdf5_files_open(int status);

}  // namespace kd
