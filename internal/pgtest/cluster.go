package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Cluster is a PostgreSQL server of a test's own. The shared test server
// must never be restarted or killed under the other tests running in
// parallel, so a test that needs to take the server away, as a failover, a
// maintenance restart or a crash would, starts one of these instead.
type Cluster struct {
	bin  string // directory of the server binaries
	dir  string // owned by the server's user; holds data and the log
	data string
	log  string
	port int
	// owner is the system user the server runs as: initdb and postgres
	// refuse to run as root, so as root they run as postgres.
	owner *user.User
}

// NewCluster creates and starts a throwaway server on 127.0.0.1 and a free
// port, without the fsyncs that guard against power loss, so that it is
// ready in a second or two. It is stopped and removed when the test ends.
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	c := &Cluster{bin: serverBinaries(t)}

	if os.Geteuid() == 0 {
		if _, err := exec.LookPath("runuser"); err != nil {
			t.Fatalf("pgtest: cluster: running as root needs runuser to start PostgreSQL as the postgres user: %v", err)
		}
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("pgtest: cluster: running as root needs a postgres system user to own the server: %v", err)
		}
		c.owner = u
	}

	// Not t.TempDir: as root its directory is root's alone (0700), and the
	// server running as postgres could not reach its data through it.
	dir, err := os.MkdirTemp("", "pgtest-cluster-")
	if err != nil {
		t.Fatalf("pgtest: cluster: %v", err)
	}
	t.Cleanup(func() {
		c.stopForCleanup(t)
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("pgtest: cluster: remove %s: %v", dir, err)
		}
	})
	if c.owner != nil {
		uid, _ := strconv.Atoi(c.owner.Uid)
		gid, _ := strconv.Atoi(c.owner.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatalf("pgtest: cluster: give %s to postgres: %v", dir, err)
		}
	}
	c.dir = dir
	c.data = filepath.Join(dir, "data")
	c.log = filepath.Join(dir, "server.log")

	// --no-sync: a throwaway cluster need not survive a power cut, and
	// fsyncing the catalog is most of initdb's time.
	c.run(t, "initdb", "-D", c.data, "-U", "postgres", "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-sync")

	// fsync and full page writes guard against the machine losing power,
	// which a test never meets; a commit must still survive Kill, as in
	// production, so synchronous_commit stays on: off, a commit made just
	// before Kill is lost.
	conf := fmt.Sprintf(`
# pgtest: a throwaway cluster, which need survive a crash of its server but
# never one of its machine.
listen_addresses = '127.0.0.1'
unix_socket_directories = '%s'
fsync = off
full_page_writes = off
shared_buffers = 16MB
`, c.data)
	f, err := os.OpenFile(filepath.Join(c.data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatalf("pgtest: cluster: configure: %v", err)
	}
	_, err = f.WriteString(conf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("pgtest: cluster: configure: %v", err)
	}

	// The port is free when picked but may be taken before the server binds
	// it (another test picks the same way), so a bind failure tries another.
	for attempt := 1; ; attempt++ {
		c.port = freePort(t)
		err := c.pgCtl("start", "-o", "-p "+strconv.Itoa(c.port))
		if err == nil {
			break
		}
		if attempt < 3 && strings.Contains(c.logTail(), "could not bind") {
			continue
		}
		t.Fatalf("pgtest: cluster: start PostgreSQL in %s: %v\n%s", c.data, err, c.logTail())
	}
	return c
}

// URL returns the URL of the cluster's maintenance database. It stays the
// same across Restart, Stop and Start.
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// Restart stops the server, closing every connection as a maintenance
// restart or a failover would, and starts it again on the same port.
func (c *Cluster) Restart(t testing.TB) {
	t.Helper()
	if err := c.pgCtl("restart", "-m", "fast", "-o", "-p "+strconv.Itoa(c.port)); err != nil {
		t.Fatalf("pgtest: cluster: restart: %v\n%s", err, c.logTail())
	}
}

// Stop shuts the server down cleanly (its connections are closed) and leaves
// it down until Start, so that connecting is refused meanwhile.
func (c *Cluster) Stop(t testing.TB) {
	t.Helper()
	if err := c.pgCtl("stop", "-m", "fast"); err != nil {
		t.Fatalf("pgtest: cluster: stop: %v\n%s", err, c.logTail())
	}
}

// Start starts a server left down by Stop or Kill; after Kill it recovers
// from the crash first.
func (c *Cluster) Start(t testing.TB) {
	t.Helper()
	if err := c.pgCtl("start", "-o", "-p "+strconv.Itoa(c.port)); err != nil {
		t.Fatalf("pgtest: cluster: start: %v\n%s", err, c.logTail())
	}
}

// Kill crashes the server: the postmaster and then its processes get
// SIGKILL, so connections drop with no goodbye and nothing is checkpointed,
// as when the server's machine or container dies. It returns once every
// process is gone, so that Start can follow at once.
func (c *Cluster) Kill(t testing.TB) {
	t.Helper()
	pid := c.postmasterPID(t)
	if pid == 0 {
		t.Fatalf("pgtest: cluster: kill: the server is not running")
	}
	// Stopped first, so that it forks no backend between the listing of
	// its children and its death: one missed would hold on to the shared
	// memory and keep the next start from running.
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatalf("pgtest: cluster: kill: stop postmaster %d: %v", pid, err)
	}
	for deadline := time.Now().Add(10 * time.Second); processState(pid) != 'T'; {
		if time.Now().After(deadline) {
			t.Fatalf("pgtest: cluster: kill: postmaster %d did not stop", pid)
		}
		time.Sleep(time.Millisecond)
	}
	children := childrenOf(pid)
	for _, p := range append([]int{pid}, children...) {
		if err := syscall.Kill(p, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			t.Fatalf("pgtest: cluster: kill %d: %v", p, err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, p := range append([]int{pid}, children...) {
		for alive(p) {
			if time.Now().After(deadline) {
				t.Fatalf("pgtest: cluster: process %d still alive 10s after SIGKILL", p)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// The dead postmaster is no child of ours, so it stays a zombie until
	// the init process reaps it, whenever that is; meanwhile its pid looks
	// alive, and the lock files naming it would stop the next start. It is
	// dead, so they go.
	locks, _ := filepath.Glob(filepath.Join(c.data, ".s.PGSQL.*.lock"))
	for _, f := range append(locks, filepath.Join(c.data, "postmaster.pid")) {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("pgtest: cluster: kill: %v", err)
		}
	}
}

// stopForCleanup brings the server down for good at the end of the test,
// whatever state the test left it in: immediate, since the data is about to
// be removed.
func (c *Cluster) stopForCleanup(t testing.TB) {
	t.Helper()
	if c.data == "" || c.postmasterPID(t) == 0 {
		return
	}
	if err := c.pgCtl("stop", "-m", "immediate"); err != nil {
		if pid := c.postmasterPID(t); pid != 0 && alive(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Errorf("pgtest: cluster: stop: %v (killed)\n%s", err, c.logTail())
		}
	}
}

// postmasterPID returns the pid in postmaster.pid, or 0 when there is none.
func (c *Cluster) postmasterPID(t testing.TB) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(c.data, "postmaster.pid"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatalf("pgtest: cluster: %v", err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		t.Fatalf("pgtest: cluster: postmaster.pid: %v", err)
	}
	return pid
}

// pgCtl runs pg_ctl on the cluster, waiting for the change to finish.
func (c *Cluster) pgCtl(args ...string) error {
	args = append([]string{"-D", c.data, "-l", c.log, "-w", "-t", "60"}, args...)
	_, err := c.command("pg_ctl", args...)
	return err
}

func (c *Cluster) run(t testing.TB, name string, args ...string) {
	t.Helper()
	if out, err := c.command(name, args...); err != nil {
		t.Fatalf("pgtest: cluster: %s: %v\n%s", name, err, out)
	}
}

// command runs a server binary as the cluster's owner, from the cluster's
// directory (the test's working directory may be closed to that user).
func (c *Cluster) command(name string, args ...string) ([]byte, error) {
	path := filepath.Join(c.bin, name)
	var cmd *exec.Cmd
	// The server's own binaries, with arguments the helper builds: no
	// input from outside the test. A context bounds each command, so that a
	// wedged pg_ctl cannot hang the test run.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if c.owner != nil {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", c.owner.Username, "--", path}, args...)...) //nolint:gosec // see above
	} else {
		cmd = exec.CommandContext(ctx, path, args...) //nolint:gosec // see above
	}
	cmd.Dir = c.dir
	// PGDATA, PGPORT and the like in the environment must not steer the
	// cluster somewhere else.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("%w: %s", err, bytes.TrimSpace(out.Bytes()))
	}
	return out.Bytes(), err
}

// logTail returns the end of the server log, which says why a start failed.
func (c *Cluster) logTail() string {
	b, err := os.ReadFile(c.log)
	if err != nil {
		return "(no server log: " + err.Error() + ")"
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return "server log:\n" + string(b)
}

// serverBinaries returns the bin directory of the newest PostgreSQL
// installed the Debian way.
func serverBinaries(t testing.TB) string {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	best, bestVersion := "", []int(nil)
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err != nil {
			continue
		}
		v := parseVersion(filepath.Base(filepath.Dir(d)))
		if best == "" || versionLess(bestVersion, v) {
			best, bestVersion = d, v
		}
	}
	if best == "" {
		t.Fatalf("pgtest: cluster: no PostgreSQL server binaries (initdb) under /usr/lib/postgresql/*/bin; install the postgresql package")
	}
	return best
}

func parseVersion(s string) []int {
	var v []int
	for _, part := range strings.Split(s, ".") {
		n, err := strconv.Atoi(part)
		if err != nil {
			n = -1
		}
		v = append(v, n)
	}
	return v
}

func versionLess(a, b []int) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}

// freePort returns a TCP port on 127.0.0.1 that nothing listened on a
// moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := new(net.ListenConfig).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pgtest: free port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatalf("pgtest: free port: %v", err)
	}
	return port
}

// childrenOf returns the pids of the processes whose parent is pid.
func childrenOf(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var children []int
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // it ended meanwhile
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(b[i+1:]))
		if len(fields) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(fields[1]); ppid == pid {
			if child, err := strconv.Atoi(filepath.Base(filepath.Dir(path))); err == nil {
				children = append(children, child)
			}
		}
	}
	return children
}

// alive tells whether a process exists and is not a zombie.
func alive(pid int) bool {
	state := processState(pid)
	return state != 0 && state != 'Z' && state != 'X'
}

// processState returns the state letter of a process (R, S, T, Z, ...), or 0
// when there is no such process.
func processState(pid int) byte {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0
	}
	return b[i+2]
}
