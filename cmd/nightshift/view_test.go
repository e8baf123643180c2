package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dfe-nightshift/nightshift/pipeline"
)

// The run view counts entities done, running and waiting, says what did
// not succeed, estimates from the last run, and prints log lines above
// itself.
func TestRunViewShowsEntitiesAndLogsAboveIt(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	v := newRunView(&out, 3, time.Hour)
	v.TaskStarted("trainees")
	v.TaskFinished(pipeline.EntityResult{Entity: "trainees", Status: pipeline.StatusSucceeded, Rows: 40})
	v.TaskStarted("providers")
	v.Logger().Info("a log line")
	v.TaskFinished(pipeline.EntityResult{Entity: "providers", Status: pipeline.StatusFailed, FailedStep: "extract", Rows: 2})
	v.Finish()
	s := out.String()
	require.Contains(t, s, "a log line")
	require.Contains(t, s, "providers: failed at extract")
	require.Contains(t, s, "entities 2/3 done")
	require.Contains(t, s, "42 rows read")
	require.Contains(t, s, "left (the last run took 1h0m0s)")
	require.NotContains(t, s, "rows/s", "no rate before a second has passed")
}

// On a real terminal (a pseudo-terminal from script(1)) a run draws its
// view on stderr and ends on a line of its own; piped, it prints plain log
// lines and no escape codes.
func TestRunDrawsItsViewOnlyOnATerminal(t *testing.T) {
	t.Parallel()
	script, err := exec.LookPath("script")
	require.NoError(t, err, "the test needs script(1), from util-linux")
	p := newProject(t, 0.05)
	bin := binary(t)
	// script's terminal has no size until told: a view needs columns.
	cmd := exec.CommandContext(context.Background(), script, "-qec", "stty cols 100 rows 40; "+bin+" --config "+p.config+" run --entity providers --entity schools", "/dev/null")
	cmd.Env = append(os.Environ(), "TERM=xterm")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "entities 2/2 done")
	require.Contains(t, string(out), "run 1 succeeded")

	piped := exec.CommandContext(context.Background(), bin, "--config", p.config, "run", "--entity", "providers")
	piped.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	out, err = piped.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.NotContains(t, string(out), "\x1b[")
	require.NotContains(t, string(out), "entities 1/1 done")
	require.True(t, strings.Contains(string(out), "step succeeded"), "plain log lines: %s", out)
}
