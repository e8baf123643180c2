//go:build !linux

package retention

import "errors"

// statfs cannot tell here: the free-space check is skipped.
func statfs(string) (int64, error) { return 0, errors.ErrUnsupported }
