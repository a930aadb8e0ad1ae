// Package fetch downloads (and posts to) URLs chosen by batch clients without letting them reach
// the server's own network: the server-side request forgery (SSRF) guard of the batch services.
//
// A [Fetcher] only contacts URLs that start with one of its configured prefixes (compared
// structurally: scheme, host and port must be equal and the path must start at a segment
// boundary), never follows a redirect outside them, resolves every host name itself and refuses
// the connection when any address of the name is loopback, private (RFC 1918, IPv6 ULA),
// link-local (169.254.0.0/16 with the cloud metadata service, fe80::/10), unspecified,
// multicast, broadcast, shared/CGNAT (100.64.0.0/10) or otherwise reserved — also when the
// address is hidden in an IPv4-mapped, IPv4-compatible, NAT64 or 6to4 IPv6 address — unless an
// operator listed it in [Config.Allow]. The checked address is the one dialled (so DNS
// rebinding between the check and the connection is impossible), for the first request and for
// every redirect. Proxies from the environment are ignored. Bodies are capped at
// [Config.MaxSize] and every exchange at [Config.Timeout].
//
// The resolver and the dialer are injectable, so tests can prove that no packet ever leaves
// the loopback interface.
package fetch

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Errors reported by a Fetcher. They are wrapped with the URL or address concerned.
var (
	// ErrNotAllowed: the URL (or a redirect target) does not start with an allowed prefix, or
	// the Fetcher has no prefix at all.
	ErrNotAllowed = errors.New("fetch: URL not allowed")
	// ErrForbiddenAddress: the host resolves to an address the server must not contact.
	ErrForbiddenAddress = errors.New("fetch: address not allowed")
	// ErrTooLarge: the response body exceeds Config.MaxSize.
	ErrTooLarge = errors.New("fetch: response exceeds the size limit")
	// ErrStatus: the server answered with a non-success HTTP status.
	ErrStatus = errors.New("fetch: unexpected HTTP status")
)

// Defaults of a [Config].
const (
	DefaultMaxSize      = 8_000_000
	DefaultTimeout      = 30 * time.Second
	DefaultMaxRedirects = 3
)

// Resolver looks up the addresses of a host name (net.Resolver.LookupNetIP with network "ip").
type Resolver func(ctx context.Context, host string) ([]netip.Addr, error)

// Dialer opens a TCP connection to address, which is always "ip:port" (never a host name).
type Dialer func(ctx context.Context, network, address string) (net.Conn, error)

// Config configures a [Fetcher].
type Config struct {
	// Prefixes are the URLs that may be contacted, e.g. "https://docs.example.org/expedientes/".
	// A trailing "*" (the reference's allowedsources syntax) is ignored. Only http and https
	// are supported. Empty means nothing is allowed.
	Prefixes []string
	// Allow lists address ranges that may be contacted although they are loopback, private,
	// link-local or reserved (e.g. 10.20.0.0/16 for an intranet document store). Empty means
	// only public addresses.
	Allow []netip.Prefix
	// MaxSize caps response bodies; 0 means DefaultMaxSize.
	MaxSize int64
	// Timeout caps each exchange (resolution, connection, redirects and body); 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// MaxRedirects caps redirects; 0 means DefaultMaxRedirects, negative means none.
	MaxRedirects int
	// Resolver resolves host names; nil means net.DefaultResolver.
	Resolver Resolver
	// Dial opens connections; nil means a net.Dialer.
	Dial Dialer
	// TLS is the client TLS configuration (roots for private CAs); nil means the system's.
	TLS *tls.Config
}

// prefix is a parsed allowed prefix.
type prefix struct {
	scheme, host, port, path string
}

// Fetcher performs guarded HTTP exchanges. It is safe for concurrent use.
type Fetcher struct {
	prefixes []prefix
	allow    []netip.Prefix
	maxSize  int64
	timeout  time.Duration
	maxRedir int
	resolve  Resolver
	dial     Dialer
	client   *http.Client
}

// New returns a Fetcher for cfg. Malformed prefixes are an error.
func New(cfg Config) (*Fetcher, error) {
	f := &Fetcher{
		allow:    append([]netip.Prefix(nil), cfg.Allow...),
		maxSize:  cfg.MaxSize,
		timeout:  cfg.Timeout,
		maxRedir: cfg.MaxRedirects,
		resolve:  cfg.Resolver,
		dial:     cfg.Dial,
	}
	for _, p := range cfg.Prefixes {
		pp, err := parsePrefix(p)
		if err != nil {
			return nil, err
		}
		f.prefixes = append(f.prefixes, pp)
	}
	for i, a := range f.allow {
		f.allow[i] = a.Masked()
	}
	if f.maxSize <= 0 {
		f.maxSize = DefaultMaxSize
	}
	if f.timeout <= 0 {
		f.timeout = DefaultTimeout
	}
	if f.maxRedir == 0 {
		f.maxRedir = DefaultMaxRedirects
	}
	if f.resolve == nil {
		f.resolve = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	if f.dial == nil {
		d := &net.Dialer{Timeout: f.timeout}
		f.dial = d.DialContext
	}
	tr := &http.Transport{
		Proxy:                 nil, // never send a client-chosen URL through an environment proxy
		DialContext:           f.dialChecked,
		TLSClientConfig:       cfg.TLS,
		TLSHandshakeTimeout:   f.timeout,
		ResponseHeaderTimeout: f.timeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       30 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	if cfg.TLS != nil {
		tr.TLSClientConfig = cfg.TLS.Clone()
	}
	f.client = &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if f.maxRedir < 0 || len(via) > f.maxRedir {
				return fmt.Errorf("%w: too many redirects (last to %s)", ErrNotAllowed, redact(req.URL))
			}
			return f.Check(req.URL.String())
		},
	}
	return f, nil
}

func parsePrefix(s string) (prefix, error) {
	s = strings.TrimSuffix(strings.TrimSpace(s), "*")
	u, err := url.Parse(s)
	if err != nil {
		return prefix{}, fmt.Errorf("fetch: allowed prefix %q: %v", s, err)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return prefix{}, fmt.Errorf("fetch: allowed prefix %q: only http and https are supported", s)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return prefix{}, fmt.Errorf("fetch: allowed prefix %q must be scheme://host[:port][/path]", s)
	}
	return prefix{scheme: scheme, host: strings.ToLower(u.Hostname()), port: portOf(u), path: u.EscapedPath()}, nil
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}

// matches reports whether u (already parsed) is inside p.
func (p prefix) matches(u *url.URL) bool {
	if strings.ToLower(u.Scheme) != p.scheme || strings.ToLower(u.Hostname()) != p.host || portOf(u) != p.port {
		return false
	}
	if p.path == "" || p.path == "/" {
		return true
	}
	path := u.EscapedPath()
	if !strings.HasPrefix(path, p.path) {
		return false
	}
	// "/docs" allows "/docs" and "/docs/x", not "/docs-private".
	return strings.HasSuffix(p.path, "/") || len(path) == len(p.path) || path[len(p.path)] == '/'
}

// Check reports (wrapping [ErrNotAllowed]) whether rawURL is outside every allowed prefix. It
// does not resolve the host.
func (f *Fetcher) Check(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("%w: malformed URL", ErrNotAllowed)
	}
	if u.User != nil {
		return fmt.Errorf("%w: URLs with credentials are not allowed (%s)", ErrNotAllowed, redact(u))
	}
	if u.Host == "" {
		return fmt.Errorf("%w: URL without host", ErrNotAllowed)
	}
	for _, p := range f.prefixes {
		if p.matches(u) {
			return nil
		}
	}
	return fmt.Errorf("%w: %s is not under an allowed prefix", ErrNotAllowed, redact(u))
}

// redact drops the query (which may carry tokens) from URLs quoted in errors.
func redact(u *url.URL) string {
	c := *u
	c.User = nil
	c.RawQuery = ""
	c.Fragment = ""
	return c.String()
}

// dialChecked resolves host, checks every address and dials the first one that connects.
func (f *Fetcher) dialChecked(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("fetch: bad address %q: %w", address, err)
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		addrs = []netip.Addr{a}
	} else {
		addrs, err = f.resolve(ctx, host)
		if err != nil {
			return nil, fmt.Errorf("fetch: resolving %s: %w", host, err)
		}
		if len(addrs) == 0 {
			return nil, fmt.Errorf("fetch: %s has no address", host)
		}
	}
	// Every address must be acceptable: a name that resolves to a public and a private address
	// is refused (the resolver's order must not decide whether the guard holds).
	for _, a := range addrs {
		if err := f.CheckAddr(a); err != nil {
			return nil, fmt.Errorf("%w (%s)", err, host)
		}
	}
	var lastErr error
	for _, a := range addrs {
		c, err := f.dial(ctx, network, net.JoinHostPort(a.Unmap().String(), port))
		if err == nil {
			return c, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

// Special-purpose IPv4 ranges that must never be contacted unless allowed (besides those the
// netip predicates cover).
var forbiddenV4 = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // shared address space (CGNAT)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // TEST-NET-1
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // TEST-NET-2
	netip.MustParsePrefix("203.0.113.0/24"),  // TEST-NET-3
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and 255.255.255.255
}

var forbiddenV6 = []netip.Prefix{
	netip.MustParsePrefix("::/96"),         // IPv4-compatible (deprecated) and ::, ::1 checked below
	netip.MustParsePrefix("100::/64"),      // discard-only
	netip.MustParsePrefix("2001::/23"),     // IETF protocol assignments (Teredo, ORCHID, ...)
	netip.MustParsePrefix("2001:db8::/32"), // documentation
	netip.MustParsePrefix("fec0::/10"),     // site-local (deprecated)
	netip.MustParsePrefix("fc00::/7"),      // unique local
}

var (
	nat64   = netip.MustParsePrefix("64:ff9b::/96")
	nat64l  = netip.MustParsePrefix("64:ff9b:1::/48")
	sixTo4  = netip.MustParsePrefix("2002::/16")
	v4compa = netip.MustParsePrefix("::/96")
)

// CheckAddr reports (wrapping [ErrForbiddenAddress]) whether a may not be contacted.
func (f *Fetcher) CheckAddr(a netip.Addr) error {
	if !a.IsValid() {
		return fmt.Errorf("%w: invalid address", ErrForbiddenAddress)
	}
	a = a.WithZone("")
	for _, p := range f.allow {
		if p.Contains(a) || (a.Is4In6() && p.Contains(a.Unmap())) {
			return nil
		}
	}
	if reason := Forbidden(a); reason != "" {
		return fmt.Errorf("%w: %s is %s", ErrForbiddenAddress, a, reason)
	}
	return nil
}

// Forbidden returns why a is not a public unicast address ("loopback", "private", ...), or ""
// when it is. IPv6 forms that embed an IPv4 address (mapped, compatible, NAT64, 6to4) are
// judged by the embedded address.
func Forbidden(a netip.Addr) string {
	a = a.WithZone("")
	if a.Is4In6() {
		if r := Forbidden(a.Unmap()); r != "" {
			return r + " (IPv4-mapped)"
		}
		return ""
	}
	switch {
	case a.IsUnspecified():
		return "unspecified"
	case a.IsLoopback():
		return "loopback"
	case a.IsPrivate():
		return "private"
	case a.IsLinkLocalUnicast():
		return "link-local"
	case a.IsMulticast(), a.IsLinkLocalMulticast(), a.IsInterfaceLocalMulticast():
		return "multicast"
	}
	if a.Is4() {
		for _, p := range forbiddenV4 {
			if p.Contains(a) {
				return "reserved (" + p.String() + ")"
			}
		}
		return ""
	}
	b := a.As16()
	if nat64.Contains(a) || v4compa.Contains(a) {
		if r := Forbidden(netip.AddrFrom4([4]byte(b[12:16]))); r != "" {
			return r + " (embedded in " + a.String() + ")"
		}
	}
	if nat64l.Contains(a) {
		return "reserved (local NAT64)"
	}
	if sixTo4.Contains(a) {
		if r := Forbidden(netip.AddrFrom4([4]byte(b[2:6]))); r != "" {
			return r + " (6to4 " + a.String() + ")"
		}
	}
	for _, p := range forbiddenV6 {
		if p.Contains(a) {
			return "reserved (" + p.String() + ")"
		}
	}
	return ""
}

// Get downloads rawURL and returns its body (status 200 only).
func (f *Fetcher) Get(ctx context.Context, rawURL string) ([]byte, error) {
	if err := f.Check(rawURL); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotAllowed, err)
	}
	req.Header.Set("Accept", "*/*")
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, unwrapURLError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("%w: %s answered %s", ErrStatus, redact(resp.Request.URL), resp.Status)
	}
	return f.readBody(resp)
}

func (f *Fetcher) readBody(resp *http.Response) ([]byte, error) {
	if resp.ContentLength > f.maxSize {
		return nil, fmt.Errorf("%w: %d bytes announced, the limit is %d", ErrTooLarge, resp.ContentLength, f.maxSize)
	}
	var buf bytes.Buffer
	if resp.ContentLength > 0 {
		buf.Grow(int(resp.ContentLength))
	}
	n, err := io.Copy(&buf, io.LimitReader(resp.Body, f.maxSize+1))
	if err != nil {
		return nil, unwrapURLError(err)
	}
	if n > f.maxSize {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, f.maxSize)
	}
	return buf.Bytes(), nil
}

// PostForm posts body (already encoded) with Content-Type application/x-www-form-urlencoded to
// rawURL and succeeds on any 2xx status. Redirects are not followed for a POST.
func (f *Fetcher) PostForm(ctx context.Context, rawURL string, body []byte) error {
	if err := f.Check(rawURL); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotAllowed, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Content-Length", strconv.Itoa(len(body)))
	c := *f.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		return unwrapURLError(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%w: %s answered %s", ErrStatus, redact(req.URL), resp.Status)
	}
	return nil
}

// unwrapURLError drops net/http's *url.Error wrapper (which repeats the full URL, query
// included) while keeping the cause for errors.Is.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("fetch: %s %s: %w", ue.Op, redactString(ue.URL), ue.Err)
	}
	return err
}

func redactString(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(malformed URL)"
	}
	return redact(u)
}
