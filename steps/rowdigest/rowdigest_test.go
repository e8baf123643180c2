package rowdigest

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

type record struct {
	digest uint64
	known  bool
}

func key(id int) []byte {
	k := binary.BigEndian.AppendUint32(nil, 8)
	return binary.BigEndian.AppendUint64(k, uint64(id)) //nolint:gosec // a test id
}

// fill adds n records; every seventh has no digest.
func fill(t *testing.T, s *Set, n int) map[string]record {
	t.Helper()
	want := map[string]record{}
	for id := range n {
		r := record{digest: uint64(id) * 0x9e3779b97f4a7c15, known: id%7 != 0} //nolint:gosec // a test id
		require.NoError(t, s.Add(key(id), r.digest, r.known))
		if !r.known {
			r.digest = 0
		}
		want[string(key(id))] = r
	}
	return want
}

func readAll(t *testing.T, s *Set) map[string]record {
	t.Helper()
	got := map[string]record{}
	var total int64
	var buf []byte
	for i := range Buckets {
		var err error
		buf, err = s.Records(i, buf)
		require.NoError(t, err)
		r := NewReader(buf)
		for {
			k, digest, known, ok := r.Next()
			if !ok {
				break
			}
			_, dup := got[string(k)]
			require.False(t, dup, "key %x read twice", k)
			got[string(k)] = record{digest, known}
			total++
		}
		require.NoError(t, r.Err())
	}
	require.Equal(t, s.Rows, total)
	return got
}

// Records spilled to the file by several flushes and those still in
// memory read back alike, before and after a Save and Open, with their
// counts, and the sum of the known digests.
func TestSetKeepsEveryRecordThroughSpillsAndSave(t *testing.T) {
	for _, limit := range []int{memLimit, 4 << 10} {
		dir := filepath.Join(t.TempDir(), "set")
		s := New(dir)
		s.limit = limit
		want := fill(t, s, 20000)
		if limit < memLimit {
			require.Greater(t, s.size, int64(0), "spilled")
		} else {
			require.Nil(t, s.file, "a small set stays in memory")
		}
		require.Equal(t, want, readAll(t, s))
		rows, sum := s.Rows, s.Sum
		var wantSum uint64
		for _, r := range want {
			wantSum += r.digest
		}
		require.Equal(t, wantSum, sum)
		require.NoError(t, s.Save())

		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		require.Len(t, entries, 2, "a data file and a manifest, whatever the size")
		back, ok := Open(dir)
		require.True(t, ok)
		defer back.Close()
		require.Equal(t, rows, back.Rows)
		require.Equal(t, sum, back.Sum)
		require.Equal(t, want, readAll(t, back))
	}
}

func TestEmptySetSavesAndOpens(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "set")
	require.NoError(t, New(dir).Save())
	s, ok := Open(dir)
	require.True(t, ok)
	defer s.Close()
	require.Zero(t, s.Rows)
	require.Empty(t, readAll(t, s))
}

// What Open must not trust: no manifest (a Save that did not finish), a
// damaged one, the layout of an older version, a truncated data file.
func TestOpenRefusesWhatItCannotTrust(t *testing.T) {
	saved := func(t *testing.T) string {
		t.Helper()
		dir := filepath.Join(t.TempDir(), "set")
		s := New(dir)
		s.limit = 1 << 10
		fill(t, s, 1000)
		require.NoError(t, s.Save())
		return dir
	}
	t.Run("no manifest", func(t *testing.T) {
		dir := saved(t)
		require.NoError(t, os.Remove(filepath.Join(dir, manifestFile)))
		_, ok := Open(dir)
		require.False(t, ok)
	})
	t.Run("damaged manifest", func(t *testing.T) {
		dir := saved(t)
		require.NoError(t, os.WriteFile(filepath.Join(dir, manifestFile), []byte(`{"rows": 3`), 0o600))
		_, ok := Open(dir)
		require.False(t, ok)
	})
	t.Run("older layout", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "manifest"), []byte("1000 12345\n"), 0o600))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "bucket-000"), nil, 0o600))
		_, ok := Open(dir)
		require.False(t, ok)
	})
	t.Run("truncated data", func(t *testing.T) {
		dir := saved(t)
		require.NoError(t, os.Truncate(filepath.Join(dir, dataFile), 100))
		_, ok := Open(dir)
		require.False(t, ok)
	})
}

func TestDamagedRecordIsAnError(t *testing.T) {
	for _, buf := range [][]byte{
		{5, 1, 2},
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		// A whole record, then one cut short.
		{1, 7, 1, 0, 0, 0, 0, 0, 0, 0, 9, 1, 7, 1},
	} {
		r := NewReader(buf)
		for {
			if _, _, _, ok := r.Next(); !ok {
				break
			}
		}
		require.Error(t, r.Err(), "% x", buf)
	}
	r := NewReader([]byte{1, 7, 1, 0, 0, 0, 0, 0, 0, 0, 9})
	key, digest, known, ok := r.Next()
	require.True(t, ok)
	require.Equal(t, []byte{7}, key)
	require.Equal(t, uint64(9), digest)
	require.True(t, known)
	_, _, _, ok = r.Next()
	require.False(t, ok)
	require.NoError(t, r.Err())
}
