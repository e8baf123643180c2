package recovery

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/dfe-nightshift/nightshift/schemas"
)

// keysTable holds, for the length of the recovery's warehouse transaction,
// the keys it is about: those of the keys file, or the source's keys now.
const keysTable = "nightshift_recover_keys"

// createKeysTable creates the temporary table of keys, typed as the
// warehouse types the key columns.
func createKeysTable(ctx context.Context, tx pgx.Tx, c *schemas.Contract) error {
	cols := make([]string, len(c.PrimaryKey))
	for i, k := range c.PrimaryKey {
		col, _ := c.Column(k)
		cols[i] = pgx.Identifier{k}.Sanitize() + " " + col.WarehouseType() + " NOT NULL"
	}
	_, err := tx.Exec(ctx, fmt.Sprintf("CREATE TEMPORARY TABLE %s (%s) ON COMMIT DROP", keysTable, strings.Join(cols, ", ")))
	if err != nil {
		return fmt.Errorf("create the table of keys in the warehouse: %w", err)
	}
	return nil
}

// analyzeKeys gives the planner the keys' count, so that it joins millions
// of them by hashing, within work_mem, rather than by nested loops.
func analyzeKeys(ctx context.Context, tx pgx.Tx) (int64, error) {
	if _, err := tx.Exec(ctx, "ANALYZE "+keysTable); err != nil {
		return 0, fmt.Errorf("analyze the keys: %w", err)
	}
	var n int64
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+keysTable).Scan(&n); err != nil {
		return 0, fmt.Errorf("count the keys: %w", err)
	}
	return n, nil
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = pgx.Identifier{n}.Sanitize()
	}
	return strings.Join(q, ", ")
}

// KeysFileError is a keys file that cannot be read or holds something
// that is not a key: the operator's mistake, not an outage.
type KeysFileError struct {
	Path string
	Line int // 0 when the file as a whole is at fault
	Err  error
}

func (e *KeysFileError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("--keys %s: %v", e.Path, e.Err)
	}
	return fmt.Sprintf("--keys %s, line %d: %v", e.Path, e.Line, e.Err)
}

func (e *KeysFileError) Unwrap() error { return e.Err }

// loadKeysFile streams the keys file into the keys table: one key a line;
// for a key of several columns, the values separated by a tab, in the
// order of the contract's primary key. Blank lines are skipped. The file is
// read a line at a time, so a file of millions of keys takes no more
// memory than one.
func loadKeysFile(ctx context.Context, tx pgx.Tx, c *schemas.Contract, path string) error {
	f, err := os.Open(path) //nolint:gosec // the operator names the file to read
	if err != nil {
		return &KeysFileError{Path: path, Err: err}
	}
	defer f.Close()
	pr, pw := io.Pipe()
	parseErr := make(chan error, 1)
	go func() {
		err := writeKeys(pw, f, c, path)
		parseErr <- err
		pw.CloseWithError(err)
	}()
	_, err = tx.Conn().PgConn().CopyFrom(ctx, pr, fmt.Sprintf("COPY %s (%s) FROM STDIN", keysTable, quoteList(c.PrimaryKey)))
	_ = pr.Close()
	if perr := <-parseErr; perr != nil && !errors.Is(perr, io.ErrClosedPipe) {
		return perr
	}
	if err != nil {
		return fmt.Errorf("--keys %s: the warehouse refused a key: %w", path, err)
	}
	return nil
}

var uuidForm = regexp.MustCompile(`^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$`)

// writeKeys checks each line of r and writes it to w in the text COPY
// format.
func writeKeys(w io.Writer, r io.Reader, c *schemas.Contract, path string) error {
	keyCols := make([]schemas.Column, len(c.PrimaryKey))
	for i, k := range c.PrimaryKey {
		keyCols[i], _ = c.Column(k)
	}
	in := bufio.NewReader(r)
	out := bufio.NewWriter(w)
	keys := 0
	for line := 1; ; line++ {
		text, err := in.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return &KeysFileError{Path: path, Err: err}
		}
		if text == "" && errors.Is(err, io.EOF) {
			break
		}
		text = strings.TrimSuffix(strings.TrimSuffix(text, "\n"), "\r")
		if strings.TrimSpace(text) != "" {
			values := strings.Split(text, "\t")
			if len(values) != len(keyCols) {
				return &KeysFileError{Path: path, Line: line, Err: fmt.Errorf("%s, but a key of %s is %s (%s), separated by tabs", values1(len(values)), c.Entity, values1(len(keyCols)), strings.Join(c.PrimaryKey, ", "))}
			}
			for i, v := range values {
				v, err := checkKeyValue(keyCols[i], v)
				if err != nil {
					return &KeysFileError{Path: path, Line: line, Err: err}
				}
				values[i] = escapeCopy(v)
			}
			if _, err := out.WriteString(strings.Join(values, "\t") + "\n"); err != nil {
				return err
			}
			keys++
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
	if keys == 0 {
		return &KeysFileError{Path: path, Err: errors.New("holds no keys (one key a line)")}
	}
	return out.Flush()
}

// checkKeyValue checks one value of a key against its column's type, so
// that a typo is reported with its line rather than by the warehouse.
func checkKeyValue(col schemas.Column, v string) (string, error) {
	switch col.Type {
	case schemas.Int16, schemas.Int32, schemas.Int64:
		t := strings.TrimSpace(v)
		if _, err := strconv.ParseInt(t, 10, 64); err != nil {
			return "", fmt.Errorf("%s is a whole number, not %q", col.Name, v)
		}
		return t, nil
	case schemas.UUID:
		t := strings.TrimSpace(v)
		if !uuidForm.MatchString(t) {
			return "", fmt.Errorf("%s is a UUID, not %q", col.Name, v)
		}
		return t, nil
	case schemas.Text:
		if v == "" {
			return "", fmt.Errorf("%s is empty", col.Name)
		}
		return v, nil
	}
	return strings.TrimSpace(v), nil
}

// loadSourceKeys streams the keys the source table holds now into the
// keys table, in a read-only transaction of the source (the source is
// never written to, not even a temporary table: the difference is taken
// in the warehouse). The two COPYs are joined by a pipe, so millions of
// keys pass through a few kilobytes of memory.
func loadSourceKeys(ctx context.Context, src pgx.Tx, wh pgx.Tx, c *schemas.Contract) error {
	sel := make([]string, len(c.PrimaryKey))
	for i, k := range c.PrimaryKey {
		col, _ := c.Column(k)
		sel[i] = fmt.Sprintf("%s::%s", pgx.Identifier{col.SourceColumn()}.Sanitize(), col.WarehouseType())
	}
	query := fmt.Sprintf("COPY (SELECT %s FROM %s) TO STDOUT", strings.Join(sel, ", "), pgx.Identifier{"public", c.Table}.Sanitize())
	pr, pw := io.Pipe()
	readErr := make(chan error, 1)
	go func() {
		_, err := src.Conn().PgConn().CopyTo(ctx, pw, query)
		readErr <- err
		pw.CloseWithError(err)
	}()
	_, err := wh.Conn().PgConn().CopyFrom(ctx, pr, fmt.Sprintf("COPY %s (%s) FROM STDIN", keysTable, quoteList(c.PrimaryKey)))
	_ = pr.Close()
	if rerr := <-readErr; rerr != nil && !errors.Is(rerr, io.ErrClosedPipe) {
		return fmt.Errorf("read the keys of public.%s from the source: %w", c.Table, rerr)
	}
	if err != nil {
		return fmt.Errorf("copy the source's keys into the warehouse: %w", err)
	}
	return nil
}

// values1 counts values in words: "1 value", "2 values".
func values1(n int) string {
	if n == 1 {
		return "1 value"
	}
	return strconv.Itoa(n) + " values"
}
