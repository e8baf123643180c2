package reconcile

import (
	"fmt"

	"github.com/cespare/xxhash/v2"
)

// DigestPrefix marks a checksum computed by a Digest, so that the ledger
// says which kind of checksum it holds; a SQL checksum is a bare number.
const DigestPrefix = "xxh64:"

// Digest checksums rows as they stream past, in the process, at no cost a
// run would notice: where a SQL checksum is another full scan of the table
// on each side, a Digest sees every row once, on its way.
//
// A row is given as its fields in PostgreSQL's binary form, as in a binary
// COPY tuple without its field count: for each column a big-endian int32
// length (-1 for NULL) and the value's bytes. The extract digests the rows
// as the source sent them, the warehouse load as it encodes them for COPY:
// equal digests prove that decoding, the Arrow batches and the spool
// changed nothing on the way. Row hashes (xxHash64) are summed modulo 2^64,
// so the order of the rows does not matter.
//
// The zero Digest is empty and ready to use.
type Digest struct {
	rows int64
	sum  uint64
}

// Add adds one row and returns its hash: the row's own digest, by which
// the versions of an entity tell a changed row from an unchanged one.
func (d *Digest) Add(row []byte) uint64 {
	h := xxhash.Sum64(row)
	d.rows++
	d.sum += h
	return h
}

// Merge adds the rows of another digest, as if they had been added to d.
func (d *Digest) Merge(o Digest) {
	d.rows += o.rows
	d.sum += o.sum
}

// Rows is the number of rows added.
func (d *Digest) Rows() int64 { return d.rows }

// Checksum is the digest as a Checksum, comparable with another digest's
// (never with a SQL checksum).
func (d *Digest) Checksum() Checksum {
	return Checksum{Rows: d.rows, Sum: fmt.Sprintf("%s%016x", DigestPrefix, d.sum)}
}
