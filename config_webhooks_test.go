package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLoadConfigWebhooks(t *testing.T) {
	t.Parallel()
	cfg, err := LoadConfig(envMap(map[string]string{}))
	require.NoError(t, err)
	require.Empty(t, cfg.WebhookAllowHosts)
	require.False(t, cfg.WebhookHTTPS, "http BASE_URL: development")

	cfg, err = LoadConfig(envMap(map[string]string{"BASE_URL": "https://ledgerline.example.com",
		"WEBHOOK_ALLOW_HOSTS": " 127.0.0.1, receiver.internal ,10.20.0.0/16,::1"}))
	require.NoError(t, err)
	require.True(t, cfg.WebhookHTTPS, "https BASE_URL: production")
	require.Equal(t, []string{"127.0.0.1", "receiver.internal", "10.20.0.0/16", "::1"}, cfg.WebhookAllowHosts)

	for _, bad := range []map[string]string{
		{"WEBHOOK_ALLOW_HOSTS": "10.0.0.0/99"},
		{"WEBHOOK_ALLOW_HOSTS": "host with space"},
		{"WEBHOOK_ALLOW_HOSTS": "host:8080"},
		{"WEBHOOK_REQUIRE_HTTPS": "maybe"},
	} {
		_, err := LoadConfig(envMap(bad))
		require.Error(t, err, "%v", bad)
		for k := range bad {
			require.Contains(t, err.Error(), k)
		}
	}
}
