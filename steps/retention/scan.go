package retention

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// RunFolderID is the run whose folder name is, as spool.Path names it
// (run-<id>, digits only, no leading zero).
func RunFolderID(name string) (int64, bool) {
	digits, ok := strings.CutPrefix(name, "run-")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != digits {
		return 0, false
	}
	return id, true
}

// strayFile matches what loadbigquery.LoadLedger writes in the spool
// directory itself (ledger-YYYYMMDD.parquet, and the temporary file it is
// written to) and deletes when the load ends: one still there a day later
// was left by a process that was killed.
var strayFile = regexp.MustCompile(`^ledger-[0-9]{8}\.parquet(\..+\.tmp)?$`)

// Scan lists what retention manages in dir: each run-<id> folder (a real
// directory: a symbolic link is never followed, nor anything else that is
// not a run's folder) and each stray BigQuery ledger file. A missing dir
// holds nothing. An entry that cannot be measured is left out, and its
// error returned with the others.
func Scan(dir string) ([]Entry, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("spool.dir %s: %w", dir, err)
	}
	des, err := os.ReadDir(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("spool.dir %s: %w", dir, err)
	}
	var out []Entry
	var errs []error
	for _, de := range des {
		path := filepath.Join(abs, de.Name())
		// ReadDir does not follow links: a link to a directory is a link.
		switch id, isRun := RunFolderID(de.Name()); {
		case isRun && de.IsDir():
			bytes, mod, err := measure(path)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			out = append(out, Entry{RunID: id, Path: path, Bytes: bytes, ModTime: mod})
		case strayFile.MatchString(de.Name()) && de.Type().IsRegular():
			info, err := de.Info()
			if err != nil {
				if !errors.Is(err, fs.ErrNotExist) {
					errs = append(errs, err)
				}
				continue
			}
			out = append(out, Entry{Path: path, Bytes: info.Size(), ModTime: info.ModTime()})
		}
	}
	return out, errors.Join(errs...)
}

// measure adds up the regular files under dir and finds the newest
// modification, without following links.
func measure(dir string) (int64, time.Time, error) {
	var bytes int64
	var newest time.Time
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			bytes += info.Size()
		}
		if info.ModTime().After(newest) {
			newest = info.ModTime()
		}
		return nil
	})
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("spool: measure %s: %w", dir, err)
	}
	return bytes, newest, nil
}

// remove deletes the entry's folder (or file) if it still is one: a path
// that has become a symbolic link in the meantime is left alone.
// os.RemoveAll removes a link inside the folder, never what it points to.
func remove(e Entry) error {
	info, err := os.Lstat(e.Path)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if e.RunID != 0 && !info.IsDir() || e.RunID == 0 && !info.Mode().IsRegular() {
		return fmt.Errorf("spool: %s is no longer what was scanned (%s): left alone", e.Path, info.Mode().Type())
	}
	if err := os.RemoveAll(e.Path); err != nil {
		return fmt.Errorf("spool: delete %s: %w", e.Path, err)
	}
	return nil
}
