package seed

import "context"

// table is one COPY: the rows come from unit, called once per unit (a
// trainee, a teacher) in order, which may add any number of rows. Related
// rows are made together, and only the current unit is ever in memory.
type table struct {
	name    string
	columns []string
	units   int
	unit    func(i int, b *rowBuf)
}

// rowBuf collects the rows of one unit. Its row slices are reused from unit
// to unit: pgx encodes a row before asking for the next one.
type rowBuf struct {
	rows [][]any
	n    int
}

func (b *rowBuf) add(values ...any) {
	if b.n == len(b.rows) {
		b.rows = append(b.rows, make([]any, 0, len(values)))
	}
	b.rows[b.n] = append(b.rows[b.n][:0], values...)
	b.n++
}

// unitRows is the pgx.CopyFromSource of a table: it generates rows lazily,
// unit by unit, so the memory a seed needs does not grow with its scale.
type unitRows struct {
	ctx  context.Context
	t    table
	next int
	buf  rowBuf
	pos  int
	err  error
}

func newUnitRows(ctx context.Context, t table) *unitRows {
	return &unitRows{ctx: ctx, t: t}
}

func (u *unitRows) Next() bool {
	u.pos++
	for u.pos >= u.buf.n {
		if u.next >= u.t.units {
			return false
		}
		// A cancelled seed stops generating within a few thousand units.
		if u.next%4096 == 0 {
			if err := u.ctx.Err(); err != nil {
				u.err = err
				return false
			}
		}
		u.buf.n, u.pos = 0, 0
		u.t.unit(u.next, &u.buf)
		u.next++
	}
	return true
}

func (u *unitRows) Values() ([]any, error) { return u.buf.rows[u.pos], nil }

func (u *unitRows) Err() error { return u.err }
