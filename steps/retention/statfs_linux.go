package retention

import "syscall"

// statfs is the bytes available to an unprivileged user on path's
// filesystem, as df counts them.
func statfs(path string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, err
	}
	size := st.Frsize
	if size == 0 {
		size = st.Bsize
	}
	return times(st.Bavail, size), nil
}

// times multiplies blocks by their size, whichever integer types this
// platform's Statfs_t has (32-bit Linux has int32 sizes).
func times[A, B ~int32 | ~int64 | ~uint32 | ~uint64](blocks A, size B) int64 {
	return int64(blocks) * int64(size)
}
