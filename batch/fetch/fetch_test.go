package fetch_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trifirma/trifirma/batch/fetch"
)

// guard returns a resolver with fixed answers and a dialer that fails the test for any address
// other than 127.0.0.1: these tests never put a packet on another address.
func guard(t *testing.T, names map[string][]string) (fetch.Resolver, fetch.Dialer, *atomic.Int32) {
	t.Helper()
	var dials atomic.Int32
	resolve := func(_ context.Context, host string) ([]netip.Addr, error) {
		addrs, ok := names[strings.ToLower(host)]
		if !ok {
			return nil, fmt.Errorf("test resolver: no such host %q", host)
		}
		var out []netip.Addr
		for _, a := range addrs {
			out = append(out, netip.MustParseAddr(a))
		}
		return out, nil
	}
	dial := func(ctx context.Context, network, address string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(address)
		if err != nil || host != "127.0.0.1" {
			t.Errorf("the fetcher tried to dial %s %q: only 127.0.0.1 may ever be contacted", network, address)
			return nil, errors.New("test dialer: refused")
		}
		dials.Add(1)
		var d net.Dialer
		return d.DialContext(ctx, network, address)
	}
	return resolve, dial, &dials
}

func loopback() []netip.Prefix { return []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")} }

func TestGetLoopbackAllowed(t *testing.T) {
	doc := []byte("%PDF-1.7 document served on loopback")
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/docs/a.pdf" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(doc)
	}))
	defer ts.Close()
	port := ts.Listener.Addr().(*net.TCPAddr).Port
	resolve, dial, dials := guard(t, map[string][]string{"docs.test": {"127.0.0.1"}})
	f, err := fetch.New(fetch.Config{
		Prefixes: []string{fmt.Sprintf("http://docs.test:%d/docs/", port), ts.URL + "/docs/*"},
		Allow:    loopback(), Resolver: resolve, Dial: dial,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{fmt.Sprintf("http://docs.test:%d/docs/a.pdf", port), ts.URL + "/docs/a.pdf"} {
		got, err := f.Get(context.Background(), u)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		if string(got) != string(doc) {
			t.Fatalf("%s: got %q", u, got)
		}
	}
	if dials.Load() == 0 {
		t.Fatal("the test dialer was not used")
	}
	if _, err := f.Get(context.Background(), ts.URL+"/docs/missing"); !errors.Is(err, fetch.ErrStatus) {
		t.Fatalf("404: got %v, want ErrStatus", err)
	}
}

func TestRefused(t *testing.T) {
	var hits atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/to-metadata":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
		case "/to-metadata-name":
			http.Redirect(w, r, "http://metadata.test/latest/meta-data/", http.StatusFound)
		case "/to-private-name":
			http.Redirect(w, r, "http://intranet.test/secret", http.StatusMovedPermanently)
		case "/to-elsewhere":
			http.Redirect(w, r, "http://other.test/doc", http.StatusFound)
		default:
			_, _ = w.Write([]byte("ok"))
		}
	}))
	defer ts.Close()
	port := ts.Listener.Addr().(*net.TCPAddr).Port
	names := map[string][]string{
		"metadata.test":  {"169.254.169.254"},
		"intranet.test":  {"10.1.2.3"},
		"rfc1918.test":   {"192.168.1.10"},
		"mixed.test":     {"93.184.216.34", "10.0.0.7"},
		"cgnat.test":     {"100.64.1.1"},
		"ula.test":       {"fd12:3456::1"},
		"mapped.test":    {"::ffff:127.0.0.1"},
		"localhost.test": {"127.0.0.1"},
		"other.test":     {"127.0.0.1"},
	}
	resolve, dial, _ := guard(t, names)
	prefixes := []string{
		ts.URL + "/",
		"http://metadata.test/", "http://169.254.169.254/", "http://intranet.test/",
		"http://rfc1918.test/", "http://mixed.test/", "http://cgnat.test/", "http://ula.test/",
		"http://mapped.test/", "http://localhost.test/", fmt.Sprintf("http://localhost.test:%d/", port),
		"http://10.0.0.1/", "http://192.168.0.1/", "http://172.16.0.1/", "http://[::1]/",
		"http://[fe80::1]/", "http://[::ffff:169.254.169.254]/", "http://0.0.0.0/",
		"http://[64:ff9b::a9fe:a9fe]/", "http://[2002:a9fe:a9fe::1]/", "http://224.0.0.1/",
		"http://255.255.255.255/", "http://[fd00::1]/",
	}
	strict, err := fetch.New(fetch.Config{Prefixes: prefixes, Resolver: resolve, Dial: dial})
	if err != nil {
		t.Fatal(err)
	}
	loose, err := fetch.New(fetch.Config{Prefixes: prefixes, Allow: loopback(), Resolver: resolve, Dial: dial})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		f    *fetch.Fetcher
		url  string
		want error
	}{
		{"loopback not allowed", strict, ts.URL + "/doc", fetch.ErrForbiddenAddress},
		{"loopback name not allowed", strict, fmt.Sprintf("http://localhost.test:%d/doc", port), fetch.ErrForbiddenAddress},
		{"metadata address", loose, "http://169.254.169.254/latest/meta-data/", fetch.ErrForbiddenAddress},
		{"metadata name", loose, "http://metadata.test/latest/", fetch.ErrForbiddenAddress},
		{"10/8", loose, "http://10.0.0.1/x", fetch.ErrForbiddenAddress},
		{"192.168/16", loose, "http://192.168.0.1/x", fetch.ErrForbiddenAddress},
		{"172.16/12", loose, "http://172.16.0.1/x", fetch.ErrForbiddenAddress},
		{"name to 10/8", loose, "http://intranet.test/x", fetch.ErrForbiddenAddress},
		{"name to 192.168/16", loose, "http://rfc1918.test/x", fetch.ErrForbiddenAddress},
		{"name to public and private", loose, "http://mixed.test/x", fetch.ErrForbiddenAddress},
		{"CGNAT", loose, "http://cgnat.test/x", fetch.ErrForbiddenAddress},
		{"IPv6 ULA name", loose, "http://ula.test/x", fetch.ErrForbiddenAddress},
		{"IPv6 ULA literal", loose, "http://[fd00::1]/x", fetch.ErrForbiddenAddress},
		{"IPv6 loopback", loose, "http://[::1]/x", fetch.ErrForbiddenAddress},
		{"IPv6 link-local", loose, "http://[fe80::1]/x", fetch.ErrForbiddenAddress},
		{"IPv4-mapped metadata", loose, "http://[::ffff:169.254.169.254]/x", fetch.ErrForbiddenAddress},
		{"IPv4-mapped loopback name (strict)", strict, "http://mapped.test/x", fetch.ErrForbiddenAddress},
		{"NAT64 metadata", loose, "http://[64:ff9b::a9fe:a9fe]/x", fetch.ErrForbiddenAddress},
		{"6to4 metadata", loose, "http://[2002:a9fe:a9fe::1]/x", fetch.ErrForbiddenAddress},
		{"unspecified", loose, "http://0.0.0.0/x", fetch.ErrForbiddenAddress},
		{"multicast", loose, "http://224.0.0.1/x", fetch.ErrForbiddenAddress},
		{"broadcast", loose, "http://255.255.255.255/x", fetch.ErrForbiddenAddress},
		{"redirect to metadata address", loose, ts.URL + "/to-metadata", fetch.ErrForbiddenAddress},
		{"redirect to metadata name", loose, ts.URL + "/to-metadata-name", fetch.ErrForbiddenAddress},
		{"redirect to private name", loose, ts.URL + "/to-private-name", fetch.ErrForbiddenAddress},
		{"redirect outside the prefixes", loose, ts.URL + "/to-elsewhere", fetch.ErrNotAllowed},
		{"not under a prefix", loose, "http://example.org/doc", fetch.ErrNotAllowed},
		{"host suffix trick", loose, "http://metadata.test.evil.example/x", fetch.ErrNotAllowed},
		{"credentials", loose, "http://user:pw@intranet.test/x", fetch.ErrNotAllowed},
		{"file scheme", loose, "file:///etc/passwd", fetch.ErrNotAllowed},
		{"ftp scheme", loose, "ftp://intranet.test/x", fetch.ErrNotAllowed},
		{"other port", loose, "http://intranet.test:8080/x", fetch.ErrNotAllowed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.f.Get(context.Background(), c.url)
			if !errors.Is(err, c.want) {
				t.Fatalf("Get(%s) = %v, want %v", c.url, err, c.want)
			}
		})
	}
	// The loopback-allowed fetcher does reach the test server (the cases above were refused
	// for the right reason, not because nothing works).
	if got, err := loose.Get(context.Background(), ts.URL+"/doc"); err != nil || string(got) != "ok" {
		t.Fatalf("allowed loopback: %q, %v", got, err)
	}
}

func TestForbidden(t *testing.T) {
	for _, c := range []struct {
		addr   string
		public bool
	}{
		{"8.8.8.8", true}, {"93.184.216.34", true}, {"2606:4700::1111", true}, {"::ffff:8.8.8.8", true},
		{"127.0.0.1", false}, {"127.255.0.1", false}, {"10.255.255.255", false}, {"172.31.0.1", false},
		{"172.32.0.1", true}, {"192.168.255.1", false}, {"169.254.169.254", false}, {"100.64.0.1", false},
		{"100.128.0.1", true}, {"0.1.2.3", false}, {"240.0.0.1", false}, {"198.18.0.1", false},
		{"::", false}, {"::1", false}, {"fe80::1%eth0", false}, {"fc00::1", false}, {"fec0::1", false},
		{"ff02::1", false}, {"::ffff:10.0.0.1", false}, {"::10.0.0.1", false}, {"64:ff9b::7f00:1", false},
		{"64:ff9b::808:808", true}, {"2002:0a00:0001::", false}, {"2002:0808:0808::", true},
		{"2001::1", false}, {"2001:db8::1", false}, {"64:ff9b:1::1", false},
	} {
		got := fetch.Forbidden(netip.MustParseAddr(c.addr))
		if (got == "") != c.public {
			t.Errorf("Forbidden(%s) = %q, want public=%v", c.addr, got, c.public)
		}
	}
}

func TestLimits(t *testing.T) {
	big := strings.Repeat("x", 2048)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			_, _ = w.Write([]byte(big))
		case "/big-chunked":
			w.(http.Flusher).Flush()
			_, _ = w.Write([]byte(big))
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		}
	}))
	defer ts.Close()
	resolve, dial, _ := guard(t, nil)
	f, err := fetch.New(fetch.Config{Prefixes: []string{ts.URL}, Allow: loopback(), Resolver: resolve, Dial: dial,
		MaxSize: 1024, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/big", "/big-chunked"} {
		if _, err := f.Get(context.Background(), ts.URL+p); !errors.Is(err, fetch.ErrTooLarge) {
			t.Errorf("%s: got %v, want ErrTooLarge", p, err)
		}
	}
	start := time.Now()
	if _, err := f.Get(context.Background(), ts.URL+"/slow"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("/slow: got %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("/slow took %v", d)
	}
	if _, err := f.Get(context.Background(), ts.URL+"/loop"); !errors.Is(err, fetch.ErrNotAllowed) {
		t.Errorf("/loop: got %v, want ErrNotAllowed (too many redirects)", err)
	}
}

func TestPostForm(t *testing.T) {
	got := make(chan string, 1)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 100)
		n, _ := r.Body.Read(b)
		got <- r.Method + " " + r.Header.Get("Content-Type") + " " + string(b[:n])
		if r.URL.Path == "/fail" {
			http.Error(w, "no", http.StatusInternalServerError)
		}
	}))
	defer ts.Close()
	resolve, dial, _ := guard(t, nil)
	f, err := fetch.New(fetch.Config{Prefixes: []string{ts.URL + "/save"}, Allow: loopback(), Resolver: resolve, Dial: dial})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.PostForm(context.Background(), ts.URL+"/save", []byte("sig=QUJD")); err != nil {
		t.Fatal(err)
	}
	if g := <-got; g != "POST application/x-www-form-urlencoded sig=QUJD" {
		t.Fatalf("server saw %q", g)
	}
	if err := f.PostForm(context.Background(), ts.URL+"/saveX", nil); !errors.Is(err, fetch.ErrNotAllowed) {
		t.Fatalf("/saveX: %v (the prefix /save must not match /saveX)", err)
	}
}

func TestBadPrefix(t *testing.T) {
	for _, p := range []string{"ftp://x/", "http://", "http://u:p@h/", "::bad", "http://h/?q=1"} {
		if _, err := fetch.New(fetch.Config{Prefixes: []string{p}}); err == nil {
			t.Errorf("prefix %q accepted", p)
		}
	}
}
