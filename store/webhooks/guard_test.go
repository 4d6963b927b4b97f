package webhooks

import (
	"context"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestForbiddenIP(t *testing.T) {
	t.Parallel()
	for ip, want := range map[string]bool{
		"127.0.0.1": true, "127.9.9.9": true, "10.0.0.1": true, "172.16.5.4": true, "192.168.1.1": true,
		"169.254.169.254": true, "0.0.0.0": true, "100.64.0.1": true, "224.0.0.1": true, "255.255.255.255": true,
		"::1": true, "fe80::1": true, "fc00::1": true, "::ffff:127.0.0.1": true, "::ffff:10.0.0.1": true, "::": true,
		"64:ff9b::a00:1": true,
		"93.184.216.34":  false, "8.8.8.8": false, "2606:4700::1111": false,
	} {
		require.Equal(t, want, forbiddenIP(netip.MustParseAddr(ip)), ip)
	}
	g := &Guard{AllowHosts: []string{"127.0.0.1", "10.1.0.0/16", "receiver.internal"}}
	require.True(t, g.ipAllowed(netip.MustParseAddr("127.0.0.1")))
	require.True(t, g.ipAllowed(netip.MustParseAddr("::ffff:127.0.0.1")))
	require.False(t, g.ipAllowed(netip.MustParseAddr("127.0.0.2")))
	require.True(t, g.ipAllowed(netip.MustParseAddr("10.1.2.3")))
	require.False(t, g.ipAllowed(netip.MustParseAddr("10.2.0.1")))
	require.True(t, g.hostAllowed("Receiver.Internal."))
}

// publicResolver answers every name with one public address, so the fuzzer never touches DNS.
type publicResolver struct{}

func (publicResolver) LookupIPAddr(context.Context, string) ([]net.IPAddr, error) {
	return []net.IPAddr{{IP: net.ParseIP("93.184.216.34")}}, nil
}

// FuzzCheckURL: whatever is typed, an accepted URL is absolute http(s) with a host, carries no
// credentials, and names no forbidden address literally.
func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{"https://erp.example.com/hook", "http://127.0.0.1/x", "https://[::1]/", "https://u:p@h/",
		"https://10.0.0.1/", "ftp://x/", "https://0x7f.1/", "https://2130706433/", " https://example.com ", "https://[::ffff:7f00:1]/"} {
		f.Add(s)
	}
	g := &Guard{RequireHTTPS: true, Resolver: publicResolver{}}
	f.Fuzz(func(t *testing.T, raw string) {
		out, msg := g.CheckURL(context.Background(), raw)
		if msg != "" {
			return
		}
		u, err := url.Parse(out)
		require.NoError(t, err)
		require.Equal(t, "https", u.Scheme)
		require.NotEmpty(t, u.Hostname())
		require.Nil(t, u.User)
		if ip, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil {
			require.False(t, forbiddenIP(ip), "accepted %q", out)
		}
	})
}
