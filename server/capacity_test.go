//go:build linux

package server_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trifirma/trifirma/client"
	"github.com/trifirma/trifirma/formats"
	"github.com/trifirma/trifirma/internal/testpki"
	"github.com/trifirma/trifirma/server"
)

// childEnv makes the test binary a bare SignatureService (see TestMain) for
// BenchmarkServerCapacity.
const childEnv = "TRIFIRMA_BENCH_SERVER_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(runChildServer())
	}
	os.Exit(m.Run())
}

// runChildServer serves the SignatureService (default engines, generated session key) on a
// loopback port, prints its address on stdout and stops when stdin is closed.
func runChildServer() int {
	s, err := server.New(server.Config{Engines: formats.Default(formats.Config{}), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	mux := http.NewServeMux()
	mux.Handle(servicePath, s)
	go func() { _ = http.Serve(ln, mux) }()
	fmt.Println(ln.Addr().String())
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	return 0
}

// procCPU is the CPU time (user + system) of process pid so far, from /proc.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may contain spaces; the fields after it start at ") ".
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc stat: %q", s)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad /proc stat: %q", s)
	}
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / ticks, nil
}

// BenchmarkServerCapacity measures what the SignatureService itself costs per round trip, the
// figure that sizes a deployment (the devices sign elsewhere): the service runs in a child
// process (this test binary, see TestMain) and the parallel clients of BenchmarkRoundTrip in
// this one, both on loopback. server-cpu-µs/op is the child's CPU time per round trip (pre +
// post of a 10 KB CAdES document, explicit, P-256 device key), server-rt/s-at-2-cores is
// 2e6/server-cpu-µs, the round trips two cores serving only the service would sustain; ns/op
// is the wall time with clients and server sharing the machine.
func BenchmarkServerCapacity(b *testing.B) {
	pki := testpki.MustGet()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = stdin.Close(); _ = cmd.Wait() }()
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	addr = strings.TrimSpace(addr)
	if h, _, _ := net.SplitHostPort(addr); h != "127.0.0.1" {
		b.Fatalf("the child server is not on loopback: %q", addr)
	}
	doc := make([]byte, 10<<10)
	_, _ = rand.Read(doc)
	tr := &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64, WriteBufferSize: 64 << 10}
	defer tr.CloseIdleConnections()
	c := &client.Client{URL: "http://" + addr + servicePath, HTTP: &http.Client{Transport: tr}}
	req := client.Request{Format: "CAdES", Algorithm: "SHA256withECDSA", Document: doc}
	// Warm the connections and the server's caches.
	for range 20 {
		if _, err := c.Sign(context.Background(), req, pki.EC.Key, pki.EC.Chain); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(doc)))
	b.SetParallelism(4)
	cpu0, err := procCPU(cmd.Process.Pid)
	if err != nil {
		b.Skip("no /proc accounting:", err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Sign(context.Background(), req, pki.EC.Key, pki.EC.Chain); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	cpu1, err := procCPU(cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	perOp := float64((cpu1 - cpu0).Microseconds()) / float64(b.N)
	b.ReportMetric(perOp, "server-cpu-µs/op")
	b.ReportMetric(2e6/perOp, "server-rt/s-at-2-cores")
}
