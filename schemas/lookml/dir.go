package lookml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// WriteDir writes the files into dir, creating it if need be, and removes
// the files an earlier generation wrote there that are no longer generated
// (a view of a table that went away would break the model). It owns only
// the files that start with its header: any other file — refinements,
// dashboards, a view written by hand — is left alone, and one with the name
// of a generated file is an error, before anything is written. Each file is
// replaced whole, by a rename, so Looker never sees half a file.
func WriteDir(dir string, files []File) (removed []string, err error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	var clashes []string
	wanted := map[string]bool{}
	for _, f := range files {
		wanted[f.Name] = true
		mine, err := generated(filepath.Join(dir, f.Name))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		if err == nil && !mine {
			clashes = append(clashes, f.Name)
		}
	}
	if len(clashes) > 0 {
		return nil, fmt.Errorf("%s: %s not written by nightshift lookml; move them or write elsewhere", dir, strings.Join(clashes, ", "))
	}
	for _, f := range files {
		if err := replace(dir, f); err != nil {
			return nil, err
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		name := e.Name()
		if wanted[name] || !e.Type().IsRegular() || !strings.HasSuffix(name, ".lkml") {
			continue
		}
		if mine, err := generated(filepath.Join(dir, name)); err != nil || !mine {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return removed, err
		}
		removed = append(removed, name)
	}
	slices.Sort(removed)
	return removed, nil
}

// generated reports whether the file starts with the generator's header.
func generated(path string) (bool, error) {
	f, err := os.Open(path) //nolint:gosec // a file of the directory the operator named
	if err != nil {
		return false, err
	}
	defer f.Close()
	head := make([]byte, len(header))
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return false, err
	}
	return bytes.Equal(head[:n], []byte(header)), nil
}

// replace writes the file beside its final name and renames it there.
func replace(dir string, f File) error {
	tmp, err := os.CreateTemp(dir, "."+f.Name+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(f.Data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write %s: %w", f.Name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", f.Name, err)
	}
	// LookML is no secret: it is committed to the Looker project's
	// repository, and whoever deploys it reads it.
	if err := os.Chmod(tmp.Name(), 0o644); err != nil { //nolint:gosec // see above
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, f.Name))
}
