package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// Resolver looks up a host's addresses; net.DefaultResolver is one. Tests replace it to make DNS answer
// differently between the check and the connection.
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// Guard decides where outgoing webhook requests may go. Private, loopback, link-local and other special
// addresses are refused unless the host or address is on AllowHosts (from WEBHOOK_ALLOW_HOSTS). The rule is
// checked when an endpoint is saved and again at dial time on the address actually connected to, so a DNS
// answer that changes between the two (DNS rebinding) cannot reach a forbidden address.
type Guard struct {
	// AllowHosts are host names, IP addresses or CIDR ranges that may be reached even when private.
	AllowHosts []string
	// RequireHTTPS refuses http:// endpoint URLs (production).
	RequireHTTPS bool
	// Resolver resolves host names; nil means net.DefaultResolver.
	Resolver Resolver
	// DialTimeout bounds the TCP connection; zero means 5 seconds.
	DialTimeout time.Duration
}

// ErrForbiddenAddress is returned when a host resolves to an address webhooks may not reach.
var ErrForbiddenAddress = errors.New("address not allowed for webhooks")

// specialRanges are addresses that are not the public internet, beyond what net.IP's predicates cover.
var specialRanges = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, broadcast
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64 can reach private IPv4
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
}

// forbiddenIP reports whether ip is private, loopback, link-local, multicast, unspecified or special.
func forbiddenIP(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return true
	}
	for _, p := range specialRanges {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// hostAllowed reports whether host (a name or literal address) is on the allow-list by name.
func (g *Guard) hostAllowed(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for _, a := range g.AllowHosts {
		if strings.EqualFold(strings.TrimSpace(a), host) {
			return true
		}
	}
	return false
}

// ipAllowed reports whether ip may be connected to: a public address, or one on the allow-list.
func (g *Guard) ipAllowed(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, a := range g.AllowHosts {
		a = strings.TrimSpace(a)
		if p, err := netip.ParsePrefix(a); err == nil && p.Contains(ip) {
			return true
		}
		if addr, err := netip.ParseAddr(a); err == nil && addr.Unmap() == ip {
			return true
		}
	}
	return !forbiddenIP(ip)
}

func (g *Guard) resolver() Resolver {
	if g.Resolver != nil {
		return g.Resolver
	}
	return net.DefaultResolver
}

// resolve returns host's addresses, refusing the whole host when any of them is forbidden.
func (g *Guard) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		if !g.ipAllowed(ip) {
			return nil, fmt.Errorf("%w: %s", ErrForbiddenAddress, ip)
		}
		return []netip.Addr{ip}, nil
	}
	addrs, err := g.resolver().LookupIPAddr(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("error resolving %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("error resolving %s: no addresses", host)
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		if !g.ipAllowed(ip) {
			return nil, fmt.Errorf("%w: %s resolves to %s", ErrForbiddenAddress, host, ip.Unmap())
		}
		out = append(out, ip.Unmap())
	}
	return out, nil
}

// DialContext connects to addr ("host:port") after resolving the host and checking every address, and
// connects to the checked address itself, never to the name again. Allow-listed host names are dialled
// as they are. Use it as the http.Transport's DialContext.
func (g *Guard) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	timeout := g.DialTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	d := &net.Dialer{Timeout: timeout}
	if g.hostAllowed(host) {
		return d.DialContext(ctx, network, addr)
	}
	ips, err := g.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	var last error
	for _, ip := range ips {
		conn, err := d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return conn, nil
		}
		last = err
	}
	return nil, last
}

// CheckURL validates an endpoint URL: absolute http(s) (https only when RequireHTTPS), no credentials, and
// a host that resolves only to addresses webhooks may reach. Its error message is for the person who
// typed the URL.
func (g *Guard) CheckURL(ctx context.Context, raw string) (string, string) {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return raw, "Enter the full address of the receiver, like https://erp.example.com/hooks/ledgerline."
	}
	if g.RequireHTTPS && u.Scheme != "https" {
		return raw, "Enter an https:// address: webhooks are only sent over TLS."
	}
	if u.User != nil {
		return raw, "Leave user name and password out of the address; verify the signature instead."
	}
	if len(raw) > 2000 {
		return raw, "Enter an address of up to 2,000 characters."
	}
	u.Fragment = ""
	host := u.Hostname()
	if g.hostAllowed(host) {
		return u.String(), ""
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := g.resolve(ctx, host); err != nil {
		if errors.Is(err, ErrForbiddenAddress) {
			return raw, "This address points into a private, loopback or link-local network, which webhooks may not reach. Use a public address."
		}
		return raw, "The host name " + host + " could not be resolved. Check the address."
	}
	return u.String(), ""
}
