package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The settings of running several instances: the read replica and the rescue delay of jobs.
func TestLoadConfigReplicaAndRescue(t *testing.T) {
	t.Parallel()
	cfg, err := LoadConfig(envMap(nil))
	require.NoError(t, err)
	require.Empty(t, cfg.ReadDatabaseURL, "no replica unless configured")
	require.Zero(t, cfg.JobRescueAfter, "River's default unless configured")

	cfg, err = LoadConfig(envMap(map[string]string{
		"READ_DATABASE_URL": "postgres://ledgerline_app:x@replica:5432/ledgerline",
		"JOB_RESCUE_AFTER":  "20m",
	}))
	require.NoError(t, err)
	require.Equal(t, "postgres://ledgerline_app:x@replica:5432/ledgerline", cfg.ReadDatabaseURL)
	require.Equal(t, 20*time.Minute, cfg.JobRescueAfter)

	// The exports design's name for the same setting.
	cfg, err = LoadConfig(envMap(map[string]string{"REPORTING_DATABASE_URL": "postgres://ledgerline_app:x@reports:5432/ledgerline"}))
	require.NoError(t, err)
	require.Equal(t, "postgres://ledgerline_app:x@reports:5432/ledgerline", cfg.ReadDatabaseURL)

	for name, value := range map[string]string{"READ_DATABASE_URL": "mysql://replica", "JOB_RESCUE_AFTER": "5s"} {
		_, err := LoadConfig(envMap(map[string]string{name: value}))
		require.Error(t, err)
		require.Contains(t, err.Error(), name+":")
	}
}

// The profiler listens only where an operator reaches it over SSH.
func TestLoadConfigPprof(t *testing.T) {
	t.Parallel()
	cfg, err := LoadConfig(envMap(nil))
	require.NoError(t, err)
	require.Empty(t, cfg.PprofAddr, "no profiler unless asked for")
	for _, ok := range []string{"127.0.0.1:6060", "localhost:6060", "[::1]:6060"} {
		cfg, err := LoadConfig(envMap(map[string]string{"PPROF_ADDR": ok}))
		require.NoError(t, err, ok)
		require.Equal(t, ok, cfg.PprofAddr)
	}
	for _, bad := range []string{"0.0.0.0:6060", ":6060", "10.0.0.5:6060", "6060"} {
		_, err := LoadConfig(envMap(map[string]string{"PPROF_ADDR": bad}))
		require.Error(t, err, bad)
		require.Contains(t, err.Error(), "PPROF_ADDR:")
	}
}
