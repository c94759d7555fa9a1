package testserver

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Postgres is a throwaway PostgreSQL cluster.
type Postgres struct {
	// URL is its connection string, postgres://postgres@127.0.0.1:port/postgres.
	URL string
	dir string
	bin string

	data, startOpts string
	runAs           func(args ...string) error
}

// PostgresURL returns GROUNDWORK_POSTGRES_URL when set, else the URL of a
// fresh cluster started for t.
func PostgresURL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv("GROUNDWORK_POSTGRES_URL"); u != "" {
		return u
	}
	return StartPostgres(t).URL
}

// StartPostgres runs initdb and pg_ctl (as the postgres user when run by
// root, as PostgreSQL requires) on a free port with fsync off, and stops
// the cluster when t ends.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	bin := postgresBin()
	if bin == "" {
		Unavailable(t, "PostgreSQL is not installed (apt-get install postgresql)")
	}
	dir, err := os.MkdirTemp("", "groundwork-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	port := FreePort(t)
	p := &Postgres{URL: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port), dir: dir, bin: bin}
	runAs := func(args ...string) error {
		cmd := exec.Command(args[0], args[1:]...)
		if os.Geteuid() == 0 {
			u, err := user.Lookup("postgres")
			if err != nil {
				return fmt.Errorf("running as root needs a postgres user: %v", err)
			}
			uid, _ := strconv.Atoi(u.Uid)
			if err := os.Chown(dir, uid, -1); err != nil {
				return err
			}
			cmd = exec.Command("su", "postgres", "-s", "/bin/sh", "-c", shellQuote(args))
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%v: %v\n%s", args, err, tail(string(out)))
		}
		return nil
	}
	data := filepath.Join(dir, "data")
	if err := runAs(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"); err != nil {
		t.Fatalf("testserver: initdb: %v", err)
	}
	p.data, p.runAs = data, runAs
	p.startOpts = fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", port, dir)
	if err := p.start(); err != nil {
		t.Fatalf("testserver: %v", err)
	}
	t.Cleanup(p.Kill)
	return p
}

func (p *Postgres) start() error {
	if err := p.runAs(filepath.Join(p.bin, "pg_ctl"), "-D", p.data, "-l", filepath.Join(p.dir, "log"), "-w", "-o", p.startOpts, "start"); err != nil {
		return fmt.Errorf("pg_ctl start: %w", err)
	}
	return nil
}

// Kill stops the cluster at once (pg_ctl stop -m immediate), as a crash
// would: clients' connections break, new ones are refused. Stopping a
// stopped cluster does nothing.
func (p *Postgres) Kill() {
	_ = p.runAs(filepath.Join(p.bin, "pg_ctl"), "-D", p.data, "-m", "immediate", "-w", "stop")
}

// Restart starts a killed cluster again on the same port and data.
func (p *Postgres) Restart(t testing.TB) {
	t.Helper()
	if err := p.start(); err != nil {
		t.Fatalf("testserver: restart: %v", err)
	}
}

// Pause stops every process of the cluster (SIGSTOP to the postmaster,
// then to its children), as a hung server would be: connections stay
// open and nothing answers. Linux only (children are found in /proc);
// an error elsewhere.
func (p *Postgres) Pause() error { return p.signal(pause) }

// Resume continues a paused cluster.
func (p *Postgres) Resume() error { return p.signal(resume) }

func (p *Postgres) signal(sig func(*os.Process) error) error {
	b, err := os.ReadFile(filepath.Join(p.data, "postmaster.pid"))
	if err != nil {
		return fmt.Errorf("testserver: postgres: %w", err)
	}
	pm, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		return fmt.Errorf("testserver: postgres: postmaster.pid: %w", err)
	}
	pids := []int{pm}
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil || len(stats) == 0 {
		return fmt.Errorf("testserver: postgres: no /proc to find the backends in")
	}
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // gone
		}
		// pid (comm) state ppid ...: comm may hold spaces, not ")".
		rest := string(b[strings.LastIndexByte(string(b), ')')+1:])
		var state string
		var ppid int
		if _, err := fmt.Sscan(rest, &state, &ppid); err == nil && ppid == pm {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
			pids = append(pids, pid)
		}
	}
	for _, pid := range pids {
		proc, err := os.FindProcess(pid)
		if err != nil {
			return err
		}
		if err := sig(proc); err != nil {
			return fmt.Errorf("testserver: postgres: signal %d: %w", pid, err)
		}
	}
	return nil
}

func postgresBin() string {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		return ""
	}
	return filepath.Dir(matches[len(matches)-1])
}

// shellQuote joins args for sh -c.
func shellQuote(args []string) string {
	q := make([]byte, 0, 64)
	for i, a := range args {
		if i > 0 {
			q = append(q, ' ')
		}
		q = append(q, '\'')
		for _, c := range []byte(a) {
			if c == '\'' {
				q = append(q, `'\''`...)
			} else {
				q = append(q, c)
			}
		}
		q = append(q, '\'')
	}
	return string(q)
}

var pgDatabases atomic.Int64

// PostgresDatabase creates a fresh database, named after prefix, in the
// cluster at url, and returns the pgxpool configuration of a pool on it;
// the database is dropped when t ends (close the pool before: cleanups
// run last-in first-out, so register the pool's Close after this call).
func PostgresDatabase(t testing.TB, url, prefix string) *pgxpool.Config {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect to PostgreSQL at %s: %v", url, err)
	}
	name := fmt.Sprintf("%s_%d_%d", prefix, os.Getpid(), pgDatabases.Add(1))
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		_ = admin.Close(ctx)
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		_ = admin.Close(ctx)
	})
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Database = name
	return cfg
}
