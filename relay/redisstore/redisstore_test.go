package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trifirma/trifirma/relay"
	"github.com/trifirma/trifirma/relay/redisstore"
	"github.com/trifirma/trifirma/relay/relaytest"
)

func openStore(t *testing.T, addr, prefix string) *redisstore.Store {
	t.Helper()
	s, err := redisstore.Open(context.Background(), "redis://"+addr+"/0?pool_size=64", redisstore.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStoreSuite(t *testing.T) {
	addr := relaytest.StartRedis(t)
	n := 0
	relaytest.StoreSuite(t, func(t *testing.T) relay.Store {
		n++
		return openStore(t, addr, fmt.Sprintf("suite%d:", n))
	})
}

func TestOpenStoreSpec(t *testing.T) {
	addr := relaytest.StartRedis(t)
	ctx := context.Background()
	s, err := relay.OpenStore(ctx, "redis://"+addr)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Put(ctx, "spec", []byte("x"), time.Minute); err != nil {
		t.Fatal(err)
	}
	// The entry is a plain key with a TTL under the default prefix.
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	ttl, err := c.PTTL(ctx, redisstore.DefaultPrefix+"spec").Result()
	if err != nil || ttl <= 0 || ttl > time.Minute {
		t.Fatalf("PTTL = %v, %v", ttl, err)
	}
	if _, err := relay.OpenStore(ctx, "redis://127.0.0.1:1"); err == nil {
		t.Fatal("OpenStore succeeded without a server")
	}
}

// instance is one relay process: its own client pool on the shared Redis and its own server.
func instance(t *testing.T, addr string, expiry time.Duration) (put, get string) {
	s := openStore(t, addr, "")
	cfg := relay.Config{Expiry: expiry, Logger: slog.New(slog.DiscardHandler)}
	mux := http.NewServeMux()
	mux.Handle("/afirma-signature-storage/StorageService", relay.NewStorageService(s, cfg))
	mux.Handle("/afirma-signature-retriever/RetrieveService", relay.NewRetrieveService(s, cfg))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/afirma-signature-storage/StorageService", srv.URL + "/afirma-signature-retriever/RetrieveService"
}

func post(t *testing.T, url, body string) string {
	t.Helper()
	resp, err := http.Post(url, "application/x-www-form-urlencoded", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = fmt.Fprint(&b, readAll(t, resp))
	return b.String()
}

func readAll(t *testing.T, resp *http.Response) string {
	buf := make([]byte, 0, 512)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := resp.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			return string(buf)
		}
	}
}

// TestTwoInstances puts through one relay instance and gets through another sharing one Redis,
// checks read-once across them, and expiry.
func TestTwoInstances(t *testing.T) {
	addr := relaytest.StartRedis(t)
	putA, getA := instance(t, addr, 300*time.Millisecond)
	_, getB := instance(t, addr, 300*time.Millisecond)

	if got := post(t, putA, "op=put&v=1_0&id=shared1&dat=6.KSCk4xRsiiul5vrlTW0tQw=="); got != "OK" {
		t.Fatalf("put on A: %q", got)
	}
	if got := post(t, getB, "op=get&v=1_0&id=shared1"); got != "6.KSCk4xRsiiul5vrlTW0tQw==\n" {
		t.Fatalf("get on B: %q", got)
	}
	if got := post(t, getA, "op=get&v=1_0&id=shared1"); !strings.HasPrefix(got, "ERR-06:=") {
		t.Fatalf("second get on A: %q, want ERR-06", got)
	}
	if got := post(t, putA, "op=put&v=1_0&id=shared2&dat=late"); got != "OK" {
		t.Fatalf("put on A: %q", got)
	}
	time.Sleep(600 * time.Millisecond)
	if got := post(t, getB, "op=get&v=1_0&id=shared2"); !strings.HasPrefix(got, "ERR-06:=") {
		t.Fatalf("expired get on B: %q, want ERR-06", got)
	}
}

// TestLoadTwoInstances runs the load test with puts on one instance and gets on the other, and
// compares with redis-benchmark SET+GET on the same server.
func TestLoadTwoInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped in -short mode")
	}
	d := 2 * time.Second
	if os.Getenv("TRIFIRMA_LOADTEST") == "1" {
		d = 20 * time.Second
	}
	addr := relaytest.StartRedis(t)
	putA, _ := instance(t, addr, time.Minute)
	_, getB := instance(t, addr, time.Minute)
	// redis-benchmark runs right before and right after the relay, on the same server, and the
	// two runs are averaged, so that both see the same machine load.
	n := 50000
	before, berr := redisBenchmark(addr, 50, n)
	res := relaytest.Load(t, relaytest.LoadOptions{PutURL: putA, GetURL: getB, Workers: 50, Duration: d})
	t.Logf("redis, put on A, get on B: %s", res)
	if res.Lost+res.Corrupted+res.Duplicated+res.Errors != 0 || res.Pairs == 0 {
		t.Errorf("load run not clean: %s", res)
	}
	after, aerr := redisBenchmark(addr, 50, n)
	if berr != nil || aerr != nil {
		t.Logf("redis-benchmark not compared: %v", errors.Join(berr, aerr))
		return
	}
	set, get := (before["SET"]+after["SET"])/2, (before["GET"]+after["GET"])/2
	// One pair needs a SET and a GET: redis-benchmark's pair rate is 1/(1/SET + 1/GET).
	pairs := 1 / (1/set + 1/get)
	t.Logf("redis-benchmark -c 50 -d 256 (mean of a run before and after): SET %.0f/s, GET %.0f/s = %.0f SET+GET pairs/s; relay %.0f pairs/s; ratio %.2f (target <= 3)",
		set, get, pairs, res.PairsPerSec, pairs/res.PairsPerSec)
}

// redisBenchmark runs redis-benchmark -t set,get and returns requests/s per command.
func redisBenchmark(addr string, clients, requests int) (map[string]float64, error) {
	bin, err := exec.LookPath("redis-benchmark")
	if err != nil {
		return nil, err
	}
	host, port, _ := strings.Cut(addr, ":")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-h", host, "-p", port, "-t", "set,get",
		"-c", strconv.Itoa(clients), "-n", strconv.Itoa(requests), "-d", "256", "-q", "--csv").Output()
	if err != nil {
		return nil, err
	}
	res := map[string]float64{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(line, ",")
		if len(f) < 2 {
			continue
		}
		name := strings.Trim(f[0], `"`)
		v, err := strconv.ParseFloat(strings.Trim(f[1], `"`), 64)
		if err == nil {
			res[name] = v
		}
	}
	if res["SET"] == 0 || res["GET"] == 0 {
		return nil, fmt.Errorf("unexpected redis-benchmark output %q", out)
	}
	return res, nil
}
