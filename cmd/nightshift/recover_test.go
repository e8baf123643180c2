package main

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/internal/pgtest"
	"github.com/dfe-nightshift/nightshift/schemas"
)

// recoverProject is a seeded source and a warehouse where one run of the
// entities has published, and with it their versions.
type recoverProject struct {
	src, wh, config string
	entities        []*schemas.Contract
	env             []string
}

func newRecoverProject(t *testing.T, scale float64) recoverProject {
	t.Helper()
	return newRecoverProjectOf(t, "register", seedRegister(t, scale), &schemas.Trainees)
}

func newRecoverProjectOf(t *testing.T, source, src string, entities ...*schemas.Contract) recoverProject {
	t.Helper()
	p := recoverProject{src: src, wh: newWarehouse(t), entities: entities}
	p.config = writeConfig(t, "environment: test\nwarehouse:\n  url: "+p.wh+"\nsources:\n  "+source+":\n    url: "+p.src+"\nspool:\n  dir: "+t.TempDir()+"\n")
	p.env = []string{"NIGHTSHIFT_LOSS_MIN_DELETED_ROWS=5"}
	p.run(t)
	return p
}

// run publishes the entities from the source as it is now, accepting any
// loss; the publish brings their versions up to date.
func (p recoverProject) run(t *testing.T) {
	t.Helper()
	args := []string{"--config", p.config, "run", "--reason", "recover test"}
	for _, c := range p.entities {
		args = append(args, "--entity", c.Entity, "--accept-loss", c.Entity)
	}
	r := cli(t, p.env, args...)
	require.Equal(t, exitOK, r.code, r.stderr)
}

// recover runs `nightshift recover` with the project's configuration.
func (p recoverProject) recover(t *testing.T, args ...string) result {
	t.Helper()
	return cli(t, p.env, append([]string{"--config", p.config, "recover"}, args...)...)
}

// sourceColumns lists the columns a recovery with --include-pii writes,
// independently of the recovery's own plan: every column of the source
// table the contract reads, in the source's order.
func sourceColumns(t *testing.T, src string, c *schemas.Contract) []string {
	t.Helper()
	var read []string
	for _, f := range c.Columns {
		read = append(read, f.SourceColumn())
	}
	var cols []string
	require.NoError(t, pgtest.Pool(t, src).QueryRow(context.Background(), `SELECT array_agg(column_name::text ORDER BY ordinal_position)
		FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 AND column_name = ANY($2)`, c.Table, read).Scan(&cols))
	require.Len(t, cols, len(read))
	return cols
}

// sourceCopy is what the source itself prints, in the text COPY format, of
// the query.
func sourceCopy(t *testing.T, src, query string) string {
	t.Helper()
	conn := pgtest.Connect(t, src)
	var buf bytes.Buffer
	_, err := conn.PgConn().CopyTo(context.Background(), &buf, "COPY ("+query+") TO STDOUT")
	require.NoError(t, err)
	return buf.String()
}

// printed returns the line of the output that starts, after its indent,
// with prefix.
func printed(t *testing.T, out, prefix string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), prefix) {
			return strings.TrimSpace(line)
		}
	}
	t.Fatalf("no line starting %q in:\n%s", prefix, out)
	return ""
}

// shell runs a command line as an operator would paste it, with TARGET_URL
// set.
func shell(t *testing.T, target, command string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "bash", "-c", command)
	cmd.Env = append(os.Environ(), "TARGET_URL="+target)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s\n%s", command, out)
	return string(out)
}

// exceptAll counts the rows of a that b lacks, and of b that a lacks,
// over cols, as a multiset: written without any of nightshift's code.
func exceptAll(t *testing.T, db, a, b string, cols []string) (int64, int64) {
	t.Helper()
	list := strings.Join(cols, ", ")
	var ab, ba int64
	require.NoError(t, rfQueryRow(t, db, fmt.Sprintf(`SELECT (SELECT count(*) FROM (SELECT %[1]s FROM %[2]s EXCEPT ALL SELECT %[1]s FROM %[3]s) d),
		(SELECT count(*) FROM (SELECT %[1]s FROM %[3]s EXCEPT ALL SELECT %[1]s FROM %[2]s) d)`, list, a, b), &ab, &ba))
	return ab, ba
}

// selectOnlyRole creates a role that may read the source's tables and
// nothing else — no writes, no temporary tables — and returns the source's
// URL as that role: a recovery that wrote to the source would fail.
func selectOnlyRole(t *testing.T, src string) string {
	t.Helper()
	u, err := url.Parse(src)
	require.NoError(t, err)
	db := strings.TrimPrefix(u.Path, "/")
	role := "reader_" + db
	rfExec(t, src, fmt.Sprintf(`CREATE ROLE %[1]s LOGIN;
		REVOKE ALL ON DATABASE %[2]s FROM PUBLIC; GRANT CONNECT ON DATABASE %[2]s TO %[1]s;
		REVOKE CREATE ON SCHEMA public FROM PUBLIC; GRANT USAGE ON SCHEMA public TO %[1]s;
		GRANT SELECT ON ALL TABLES IN SCHEMA public TO %[1]s`, role, db))
	t.Cleanup(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, pgtest.ServerURL())
		if err != nil {
			return
		}
		defer conn.Close(ctx)
		// The database goes first (its own cleanup runs after this one,
		// so drop what the role owns or was granted here).
		_, _ = conn.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", db))
		_, _ = conn.Exec(ctx, "DROP ROLE IF EXISTS "+role)
	})
	var canTemp, canInsert bool
	require.NoError(t, rfQueryRow(t, src, fmt.Sprintf("SELECT has_database_privilege('%[1]s', '%[2]s', 'TEMP'), has_table_privilege('%[1]s', 'public.trainees', 'INSERT')", role, db), &canTemp, &canInsert))
	require.False(t, canTemp, "the role cannot create temporary tables")
	require.False(t, canInsert, "the role cannot insert")
	u.User = url.User(role)
	return u.String()
}

// The runbook's partial restore (seed 003): a fifth of the trainees are
// deleted by accident, a run publishes the loss, and `recover --missing`
// as of before the loss writes files that, loaded with psql, make the
// source's rows equal, value for value, to what they were — as a role that
// can only read the source.
func TestRecoverMissingRowsLoadBackIntoTheSource(t *testing.T) {
	t.Parallel()
	p := newRecoverProject(t, 0.2)
	c := &schemas.Trainees
	cols := sourceColumns(t, p.src, c)
	rfExec(t, p.src, "CREATE SCHEMA saved; CREATE TABLE saved.trainees AS SELECT * FROM public.trainees")
	time.Sleep(10 * time.Millisecond)
	before := time.Now().UTC()
	time.Sleep(10 * time.Millisecond)

	var total int64
	require.NoError(t, rfQueryRow(t, p.src, "SELECT count(*) FROM trainees", &total))
	gone := deleteTrainees(t, p.src, fmt.Sprintf("t.id IN (SELECT id FROM trainees ORDER BY md5(id::text) LIMIT %d)", total/5))
	require.Greater(t, len(gone), 10)
	p.run(t) // publishes the loss: the warehouse's current table no longer has them

	// Recovered as a role that can only SELECT: a write, even of a
	// temporary table, would fail the command.
	readOnly := writeConfig(t, "environment: test\nwarehouse:\n  url: "+p.wh+"\nsources:\n  register:\n    url: "+selectOnlyRole(t, p.src)+"\nspool:\n  dir: "+t.TempDir()+"\n")
	out := filepath.Join(t.TempDir(), "recovered")
	r := cli(t, nil, "--config", readOnly, "recover", "--entity", "trainees", "--as-of", before.Format(time.RFC3339Nano), "--missing", "--include-pii", "--out", out)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, fmt.Sprintf("Rows: %d — present then and absent from the source now (it holds %d keys)", len(gone), total-int64(len(gone))))
	require.Contains(t, r.stdout, "Columns written ("+fmt.Sprint(len(cols))+"): "+strings.Join(cols, ", "), "every column the contract reads, in the source's order")
	require.Contains(t, r.stdout, "dttp_id: not read by the contract: DTTP sync plumbing")
	require.Contains(t, r.stdout, "Not columns of the source: sex_name, state_name, ")

	// Byte for byte what the source itself printed of those rows.
	want := sourceCopy(t, p.src, fmt.Sprintf("SELECT %s FROM saved.trainees WHERE id = ANY('%s'::bigint[]) ORDER BY id", strings.Join(cols, ", "), pgArray(gone)))
	got, err := os.ReadFile(filepath.Join(out, "trainees.copy"))
	require.NoError(t, err)
	require.Equal(t, want, string(got))
	info, err := os.Stat(filepath.Join(out, "trainees.copy"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "personal data is readable by its owner only")

	// Loaded with the exact command printed.
	shell(t, p.src, printed(t, r.stdout, `psql "$TARGET_URL" -v ON_ERROR_STOP=1 -c "\copy`))
	ab, ba := exceptAll(t, p.src, "saved.trainees", "public.trainees", cols)
	require.Zero(t, ab, "every row is back")
	require.Zero(t, ba, "and nothing else")

	// The script after the \copy changes nothing, however often it runs.
	script := printed(t, r.stdout, `psql "$TARGET_URL" -v ON_ERROR_STOP=1 -f`)
	shell(t, p.src, script)
	shell(t, p.src, script)
	ab, ba = exceptAll(t, p.src, "saved.trainees", "public.trainees", cols)
	require.Zero(t, ab+ba)

	// And alone, it brings them back too, once.
	deleteTrainees(t, p.src, fmt.Sprintf("t.id = ANY('%s'::bigint[])", pgArray(gone)))
	shell(t, p.src, script)
	shell(t, p.src, script)
	ab, ba = exceptAll(t, p.src, "saved.trainees", "public.trainees", cols)
	require.Zero(t, ab, "every row is back")
	require.Zero(t, ba, "once")

	// Files are never overwritten.
	r = cli(t, nil, "--config", readOnly, "recover", "--entity", "trainees", "--as-of", before.Format(time.RFC3339Nano), "--missing", "--out", out)
	require.Equal(t, exitUsage, r.code, r.stderr)
	require.Contains(t, r.stderr, "already holds trainees.copy")
	after, err := os.ReadFile(filepath.Join(out, "trainees.copy"))
	require.NoError(t, err)
	require.Equal(t, got, after)
}

func pgArray(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	return "{" + strings.Join(s, ",") + "}"
}

// --keys recovers the rows named, as they were at the time asked —
// before a change or after it — says which keys had no row, and leaves
// personal data out unless asked, warning when the source needs it.
func TestRecoverKeysAsOfAndPersonalData(t *testing.T) {
	t.Parallel()
	p := newRecoverProject(t, 0.05)
	ctx := context.Background()
	var id int64
	var lastName, email string
	require.NoError(t, rfQueryRow(t, p.src, "SELECT id, last_name, email FROM trainees WHERE last_name IS NOT NULL AND email IS NOT NULL ORDER BY id LIMIT 1", &id, &lastName, &email))
	time.Sleep(10 * time.Millisecond)
	first := time.Now().UTC()
	time.Sleep(10 * time.Millisecond)
	// As Rails saves it: updated_at moves, and the new version begins then.
	rfExec(t, p.src, fmt.Sprintf("UPDATE trainees SET last_name = 'Changed-Name', state = 6, updated_at = now() AT TIME ZONE 'UTC' WHERE id = %d", id))
	p.run(t)
	second := time.Now().UTC()

	keys := filepath.Join(t.TempDir(), "keys.txt")
	require.NoError(t, os.WriteFile(keys, fmt.Appendf(nil, "%d\r\n\n 999999999 \n", id), 0o600))
	read := func(dir, name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		return string(b)
	}

	then := filepath.Join(t.TempDir(), "then")
	r := p.recover(t, "--entity", "trainees", "--as-of", first.Format("2006-01-02 15:04:05.999999"), "--keys", keys, "--include-pii", "--out", then)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "Rows: 1, for 2 keys given; 1 of the keys had no row then (first: 999999999)")
	require.Contains(t, read(then, "trainees.copy"), "\t"+lastName+"\t", "the name before the change")
	require.NotContains(t, read(then, "trainees.copy"), "Changed-Name")

	now := filepath.Join(t.TempDir(), "now")
	r = p.recover(t, "--entity", "trainees", "--as-of", second.Format(time.RFC3339Nano), "--keys", keys, "--include-pii", "--out", now)
	require.Equal(t, exitOK, r.code, r.stderr)
	copyNow := read(now, "trainees.copy")
	require.Contains(t, copyNow, "\tChanged-Name\t", "the name after it")
	var state string
	require.NoError(t, rfQueryRow(t, p.src, fmt.Sprintf("SELECT state::text FROM trainees WHERE id = %d", id), &state))
	fields := strings.Split(strings.TrimSuffix(copyNow, "\n"), "\t")
	require.Contains(t, fields, "6", "the state's code, not its label")
	require.NotContains(t, copyNow, "awarded")

	// Without --include-pii: no personal value in any file, and the README
	// names every personal column left out.
	rfExec(t, p.src, "UPDATE trainees SET email = coalesce(email, 'none'); ALTER TABLE trainees ALTER COLUMN email SET NOT NULL")
	rfExec(t, p.src, "ALTER TABLE trainees ADD CONSTRAINT named CHECK (last_name IS NOT NULL OR discarded_at IS NOT NULL) NOT VALID")
	plain := filepath.Join(t.TempDir(), "plain")
	r = p.recover(t, "--entity", "trainees", "--as-of", second.Format(time.RFC3339Nano), "--keys", keys, "--out", plain)
	require.Equal(t, exitOK, r.code, r.stderr)
	var personal []string
	for _, f := range schemas.Trainees.Columns {
		if f.PII != schemas.PIINone {
			personal = append(personal, f.Name)
			require.Regexp(t, regexp.MustCompile(`(?m)^  `+f.Name+`: personal data \(PII (personal|special)\): left out unless --include-pii$`), r.stdout)
		}
	}
	require.Contains(t, r.stdout, "WARNING: email is left out but NOT NULL without a default at the source: loading without it fails; run again with --include-pii to write it.")
	require.Contains(t, r.stdout, "WARNING: last_name is left out but named by the source's CHECK constraint named CHECK")
	var values []string
	require.NoError(t, rfQueryRow(t, p.src, fmt.Sprintf("SELECT array_remove(ARRAY[%s]::text[], NULL) FROM trainees WHERE id = %d", strings.Join(personal, "::text, ")+"::text", id), &values))
	require.NotEmpty(t, values)
	for _, name := range []string{"trainees.copy", "trainees.sql", "trainees.README"} {
		body := read(plain, name)
		for _, v := range values {
			if len(v) > 3 { // codes like 1 appear anywhere
				require.NotContains(t, body, v, "%s holds a personal value", name)
			}
		}
	}
	require.NotContains(t, r.stdout, "hold personal data")
	_ = ctx
}

// Bad input is refused with a clear message and exit 2, before anything
// is written.
func TestRecoverRefusesBadInput(t *testing.T) {
	t.Parallel()
	p := newRecoverProject(t, 0.05)
	dir := t.TempDir()
	keys := func(body string) string {
		path := filepath.Join(t.TempDir(), "keys")
		require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
		return path
	}
	file := filepath.Join(dir, "a-file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	now := time.Now().UTC()
	var firstVersion time.Time
	// The warehouse's view begins with the first run's snapshot; the
	// versions themselves reach further back, to each row's updated_at.
	require.NoError(t, rfQueryRow(t, p.wh, `SELECT (detail->>'snapshot_at')::timestamptz FROM nightshift.step_runs
		WHERE run_id = 1 AND entity = 'trainees' AND step = 'extract' AND status = 'succeeded'`, &firstVersion))
	var oldest time.Time
	require.NoError(t, rfQueryRow(t, p.wh, "SELECT min(valid_from) FROM reporting.trainees_versions", &oldest))
	require.True(t, oldest.Before(firstVersion.Add(-time.Minute)), "the seed's rows were updated before the run")
	at := now.Format(time.RFC3339Nano)

	cases := []struct {
		name    string
		args    []string
		env     []string
		mention string
	}{
		{"unknown entity", []string{"--entity", "trainess", "--as-of", at, "--missing", "--out", dir}, nil, `unknown entity "trainess"`},
		{"computed entity", []string{"--entity", "register_statuses", "--as-of", at, "--missing", "--out", dir}, nil,
			"entity register_statuses cannot be recovered: nightshift computes it with a query over the source's tables audits, trainees, so it has no source table of its own to load rows back into; recover the entities it is computed from instead: trainees, audits"},
		{"no time", []string{"--entity", "trainees", "--missing", "--out", dir}, nil, "--as-of is required"},
		{"bad time", []string{"--entity", "trainees", "--as-of", "yesterday", "--missing", "--out", dir}, nil, `--as-of "yesterday" is not a time`},
		{"future", []string{"--entity", "trainees", "--as-of", now.Add(time.Hour).Format(time.RFC3339), "--missing", "--out", dir}, nil, "is in the future"},
		{"before the first run", []string{"--entity", "trainees", "--as-of", firstVersion.Add(-time.Millisecond).Format(time.RFC3339Nano), "--missing", "--out", dir}, nil,
			"is before the warehouse's first view of trainees, run 1's snapshot of the source at " + firstVersion.UTC().Format("2006-01-02 15:04:05.999999") + " UTC"},
		{"before the first version", []string{"--entity", "trainees", "--as-of", oldest.Add(-time.Hour).Format(time.RFC3339Nano), "--missing", "--out", dir}, nil,
			"is before the warehouse's first view of trainees"},
		{"no versions", []string{"--entity", "providers", "--as-of", at, "--missing", "--out", dir}, nil, `"reporting"."providers_versions" does not exist: the warehouse keeps no versions of providers yet`},
		{"both", []string{"--entity", "trainees", "--as-of", at, "--missing", "--keys", keys("1\n"), "--out", dir}, nil, "--keys and --missing cannot go together"},
		{"neither", []string{"--entity", "trainees", "--as-of", at, "--out", dir}, nil, "give --keys FILE or --missing"},
		{"no out", []string{"--entity", "trainees", "--as-of", at, "--missing"}, nil, "--out DIR is required"},
		{"out not writable", []string{"--entity", "trainees", "--as-of", at, "--missing", "--out", filepath.Join(file, "sub")}, nil, "not a directory"},
		{"keys unreadable", []string{"--entity", "trainees", "--as-of", at, "--keys", filepath.Join(dir, "nope"), "--out", t.TempDir()}, nil, "--keys " + filepath.Join(dir, "nope") + ": open"},
		{"keys malformed", []string{"--entity", "trainees", "--as-of", at, "--keys", keys("1\n2\nx3\n"), "--out", t.TempDir()}, nil, `, line 3: id is a whole number, not "x3"`},
		{"keys too many values", []string{"--entity", "trainees", "--as-of", at, "--keys", keys("1\t2\n"), "--out", t.TempDir()}, nil, "line 1: 2 values, but a key of trainees is 1 value (id), separated by tabs"},
		{"keys empty", []string{"--entity", "trainees", "--as-of", at, "--keys", keys("\n\n"), "--out", t.TempDir()}, nil, "holds no keys"},
		{"production without a reason", []string{"--entity", "trainees", "--as-of", at, "--missing", "--out", t.TempDir()}, []string{"NIGHTSHIFT_ENV=production"}, "--reason is required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(t, tc.env, append([]string{"--config", p.config, "recover"}, tc.args...)...)
			require.Equal(t, exitUsage, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
			require.Contains(t, r.stderr, tc.mention)
			require.Empty(t, r.stdout)
		})
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "nothing written but the test's own file")
}

// RECT's Rails enums, UUIDs and decimals go back as the source holds them:
// declarations byte for byte, a statement adjustment's unconstrained
// numeric value for value (the warehouse's fixed scale has lost its
// trailing zeros, not its value). Loaded with the scripts, in one go.
func TestRecoverRECTEnumsAndDecimals(t *testing.T) {
	t.Parallel()
	src := seededSource(t, "rect", 0.05)
	entities := []*schemas.Contract{&schemas.Declarations, &schemas.StatementAdjustments}
	p := newRecoverProjectOf(t, "rect", src, entities...)
	rfExec(t, src, "CREATE SCHEMA saved; CREATE TABLE saved.declarations AS SELECT * FROM declarations; CREATE TABLE saved.statement_adjustments AS SELECT * FROM statement_adjustments")
	time.Sleep(10 * time.Millisecond)
	before := time.Now().UTC().Format(time.RFC3339Nano)
	for _, c := range entities {
		rfExec(t, src, fmt.Sprintf("DELETE FROM %[1]s WHERE id IN (SELECT id FROM %[1]s ORDER BY md5(id::text) LIMIT (SELECT count(*) / 5 FROM %[1]s))", c.Table))
	}
	p.run(t)

	out := t.TempDir()
	for _, c := range entities {
		cols := sourceColumns(t, src, c)
		var gone int64
		require.NoError(t, rfQueryRow(t, src, fmt.Sprintf("SELECT count(*) FROM saved.%[1]s WHERE id NOT IN (SELECT id FROM public.%[1]s)", c.Table), &gone))
		require.Positive(t, gone)
		// What the source printed of the lost rows, before they were lost.
		lost := sourceCopy(t, src, fmt.Sprintf("SELECT %[1]s FROM saved.%[2]s WHERE id NOT IN (SELECT id FROM public.%[2]s) ORDER BY id", strings.Join(cols, ", "), c.Table))

		r := p.recover(t, "--entity", c.Entity, "--as-of", before, "--missing", "--include-pii", "--out", out)
		require.Equal(t, exitOK, r.code, r.stderr)
		require.Contains(t, r.stdout, fmt.Sprintf("Rows: %d — ", gone))
		got, err := os.ReadFile(filepath.Join(out, c.Entity+".copy"))
		require.NoError(t, err)
		if c == &schemas.Declarations {
			require.Equal(t, lost, string(got), "declarations byte for byte")
		}
		shell(t, src, printed(t, r.stdout, `psql "$TARGET_URL" -v ON_ERROR_STOP=1 -f`))
		ab, ba := exceptAll(t, src, "saved."+c.Table, "public."+c.Table, cols)
		require.Zero(t, ab, "%s: every row is back", c.Entity)
		require.Zero(t, ba, "%s: and nothing else", c.Entity)
	}
	var enums int
	require.NoError(t, rfQueryRow(t, src, `SELECT count(*) FROM information_schema.columns WHERE table_name = 'declarations' AND data_type = 'USER-DEFINED'`, &enums))
	require.Positive(t, enums, "declarations has Rails enums")
}
