package recovery

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/jackc/pgx/v5"
)

// insertBatch is the rows of one INSERT of the script: few enough for a
// readable statement, enough that a million rows load in minutes.
const insertBatch = 500

// writeCopy writes the rows, as the warehouse's own COPY prints them in the
// text format, to path: what psql's \copy reads back byte for byte.
func writeCopy(ctx context.Context, wh pgx.Tx, o Options, p Plan, path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600) //nolint:gosec // under the operator's --out
	if err != nil {
		return 0, &UsageError{fmt.Errorf("--out: %w", err)}
	}
	w := bufio.NewWriterSize(f, 1<<20)
	tag, err := wh.Conn().PgConn().CopyTo(ctx, w, "COPY ("+selectRows(o, p)+") TO STDOUT")
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", path, err)
	}
	return tag.RowsAffected(), nil
}

// writeSQL writes the script: the rows of the COPY file, read back, as
// INSERTs in one transaction that skip a row whose key (or any unique
// value) the source already holds.
func writeSQL(res Result) error {
	in, err := os.Open(res.CopyFile)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(res.SQLFile, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return &UsageError{fmt.Errorf("--out: %w", err)}
	}
	w := bufio.NewWriterSize(out, 1<<20)
	err = writeScript(w, bufio.NewReaderSize(in, 1<<20), res)
	if err == nil {
		err = w.Flush()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", res.SQLFile, err)
	}
	return nil
}

func writeScript(w *bufio.Writer, copyFile *bufio.Reader, res Result) error {
	// A bufio.Writer keeps its first error and returns it from Flush,
	// which the caller checks: the writes need not be checked one by one.
	put := func(s string) { _, _ = w.WriteString(s) }
	for _, line := range strings.Split(strings.TrimRight(res.Readme(), "\n"), "\n") {
		put("-- " + line + "\n")
	}
	override := ""
	if res.Plan.Override {
		override = " OVERRIDING SYSTEM VALUE"
	}
	head := fmt.Sprintf("INSERT INTO %s (%s)%s VALUES\n", res.TableName, res.ColumnList, override)
	put("\nSET client_encoding = 'UTF8';\nBEGIN;\n")
	n := 0
	for {
		line, err := copyFile.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if line == "" {
			break
		}
		values, perr := copyFields(strings.TrimSuffix(line, "\n"))
		if perr != nil {
			return fmt.Errorf("row %d: %w", n+1, perr)
		}
		if len(values) != len(res.Plan.Columns) {
			return fmt.Errorf("row %d has %d values, not %d", n+1, len(values), len(res.Plan.Columns))
		}
		if n%insertBatch == 0 {
			if n > 0 {
				put("\nON CONFLICT DO NOTHING;\n")
			}
			put(head)
		} else {
			put(",\n")
		}
		put("(")
		for i, v := range values {
			if i > 0 {
				put(", ")
			}
			put(sqlLiteral(v))
		}
		put(")")
		n++
		if errors.Is(err, io.EOF) {
			break
		}
	}
	if n > 0 {
		put("\nON CONFLICT DO NOTHING;\n")
	}
	if int64(n) != res.Rows {
		return fmt.Errorf("the COPY file holds %d rows, the warehouse sent %d", n, res.Rows)
	}
	put("COMMIT;\n")
	return nil
}

// writeFile writes a small file, refusing to replace one.
func writeFile(path string, body []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600) //nolint:gosec // under the operator's --out
	if err != nil {
		return &UsageError{fmt.Errorf("--out: %w", err)}
	}
	_, err = f.Write(body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// CopyCommand is the psql command that loads the COPY file.
func (r Result) CopyCommand() string {
	meta := fmt.Sprintf(`\copy %s (%s) FROM %s WITH (FORMAT text, ENCODING 'UTF8')`,
		r.TableName, r.ColumnList, sqlQuote(r.CopyFile))
	return `psql "$TARGET_URL" -v ON_ERROR_STOP=1 -c "` + shellDoubleQuoted(meta) + `"`
}

// SQLCommand is the psql command that runs the script.
func (r Result) SQLCommand() string {
	return `psql "$TARGET_URL" -v ON_ERROR_STOP=1 -f ` + shellSingleQuoted(r.SQLFile)
}

func sqlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func shellDoubleQuoted(s string) string {
	return strings.NewReplacer(`"`, `\"`, "$", `\$`, "`", "\\`").Replace(s)
}

func shellSingleQuoted(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// Readme is what the recovery did and how to load it: the README file,
// the script's header and the command's output.
func (r Result) Readme() string {
	var b strings.Builder
	fmt.Fprintf(&b, "nightshift recover: %s (source %s, table public.%s) as the warehouse held it at %s\n", r.Entity, r.Source, r.Table, stamp(r.AsOf))
	if r.Missing {
		fmt.Fprintf(&b, "Rows: %d — present then and absent from the source now (it holds %d keys)\n", r.Rows, r.Keys)
		b.WriteString("Rows the service deleted on purpose since then are among them: review before loading.\n")
	} else {
		fmt.Fprintf(&b, "Rows: %d, for %d keys given", r.Rows, r.Keys)
		if r.Unmatched > 0 {
			fmt.Fprintf(&b, "; %d of the keys had no row then (first: %s)", r.Unmatched, strings.Join(r.Sample, ", "))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "Made %s by %s", stamp(r.Made), r.StartedBy)
	if r.Reason != "" {
		fmt.Fprintf(&b, ", because: %s", r.Reason)
	}
	fmt.Fprintf(&b, "\nThe warehouse's view of %s begins %s, the first snapshot of the source its versions came from.\n\n", r.Entity, stamp(r.FirstVersion))
	fmt.Fprintf(&b, "Files:\n  %s  text COPY format, the columns in the source table's order\n  %s  the same rows as INSERT ... ON CONFLICT DO NOTHING in one transaction: running it again is harmless\n\n", r.CopyFile, r.SQLFile)
	fmt.Fprintf(&b, "Load into the source (review the files first). TARGET_URL: a connection to the %s database as a role that may INSERT into public.%s (nightshift's own source role is read-only). Either:\n", r.Source, r.Table)
	fmt.Fprintf(&b, "  %s\n", r.CopyCommand())
	b.WriteString("    (one transaction; it fails as a whole if any row's key is already in the source)\n")
	fmt.Fprintf(&b, "  %s\n", r.SQLCommand())
	b.WriteString("    (one transaction; skips the rows whose key, or any unique value, the source already holds)\n\n")
	fmt.Fprintf(&b, "Columns written (%d): %s\n", len(r.Plan.Columns), strings.Join(r.Plan.Names(), ", "))
	if len(r.Plan.Omitted) > 0 {
		b.WriteString("Columns left out (the load gives them the source's default):\n")
		for _, o := range r.Plan.Omitted {
			fmt.Fprintf(&b, "  %s: %s\n", o.Column, o.Why)
		}
	}
	if len(r.Plan.Gone) > 0 {
		fmt.Fprintf(&b, "Not in the source table now (dropped or renamed since; `nightshift check` says which): %s\n", strings.Join(r.Plan.Gone, ", "))
	}
	if len(r.Plan.Labels) > 0 {
		fmt.Fprintf(&b, "Not columns of the source: %s (nightshift's labels; their codes are written)\n", strings.Join(r.Plan.Labels, ", "))
	}
	for _, o := range r.Plan.Omitted {
		if o.Blocks == "" {
			continue
		}
		fmt.Fprintf(&b, "WARNING: %s is left out but %s", o.Column, o.Blocks)
		if o.PII {
			b.WriteString("; run again with --include-pii to write it")
		}
		b.WriteString(".\n")
	}
	if r.WithPII {
		b.WriteString("These files hold personal data (--include-pii): keep them where the source's data may be, and delete them once loaded.\n")
	}
	b.WriteString("The warehouse knows only what its runs saw: a row created and deleted between two runs, or set aside in nightshift.quarantine, is not here.\n")
	return b.String()
}
