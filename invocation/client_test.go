package invocation_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/internal/b64"
	"github.com/trifirma/trifirma/invocation"
	"github.com/trifirma/trifirma/invocation/cipher"
	"github.com/trifirma/trifirma/relay"
)

// relayServer mounts the relay services on a loopback test server.
func relayServer(t *testing.T) (storage, retrieve string) {
	t.Helper()
	store := relay.NewMemoryStore(relay.MemoryOptions{})
	t.Cleanup(func() { store.Close() })
	cfg := relay.Config{Logger: slog.New(slog.DiscardHandler)}
	mux := http.NewServeMux()
	mux.Handle("/afirma-signature-storage/StorageService", relay.NewStorageService(store, cfg))
	mux.Handle("/afirma-signature-retriever/RetrieveService", relay.NewRetrieveService(store, cfg))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/afirma-signature-storage/StorageService", srv.URL + "/afirma-signature-retriever/RetrieveService"
}

// rawPost sends a body the way AutoFirma's IntermediateServerUtil does: "k=v&..." unencoded.
func rawPost(t *testing.T, url, body string) string {
	t.Helper()
	resp, err := http.Post(url, "application/x-www-form-urlencoded", strings.NewReader(body))
	if err != nil {
		t.Error(err)
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// fakeApp plays the signing app: it reads the invocation URL (downloading the parameters when
// it carries a fileid), optionally stores #WAIT, and stores answer(params, cipher).
func fakeApp(t *testing.T, link string, answer func(p map[string]string, c cipher.Cipher) string) {
	t.Helper()
	u, err := invocation.Parse(link)
	if err != nil {
		t.Error(err)
		return
	}
	params := map[string]string{"op": u.Op}
	for _, p := range u.Params {
		params[p.Key] = p.Value
	}
	c, err := cipher.FromParams(params["cipher"], params["key"])
	if err != nil {
		t.Error(err)
		return
	}
	if fid := params["fileid"]; fid != "" {
		doc := strings.TrimSuffix(rawPost(t, params["rtservlet"], "op=get&v=1_0&id="+fid), "\n")
		if c == nil {
			t.Error("fileid without key")
			return
		}
		plain, err := c.Decrypt(doc)
		if err != nil {
			t.Errorf("deciphering the parameters: %v", err)
			return
		}
		root, p := appParseXML(t, plain)
		if root != u.Op {
			t.Errorf("document root %q, want %q", root, u.Op)
		}
		for k, v := range p {
			params[k] = v
		}
	}
	if len(params["id"]) != 20 || params["stservlet"] == "" {
		t.Errorf("bad session parameters: %v", params)
		return
	}
	if params["aw"] == "true" {
		if got := rawPost(t, params["stservlet"], "op=put&v=1_0&id="+params["id"]+"&dat=#WAIT"); got != "OK" {
			t.Errorf("#WAIT put: %q", got)
		}
		time.Sleep(30 * time.Millisecond)
	}
	if got := rawPost(t, params["stservlet"], "op=put&v=1_0&id="+params["id"]+"&dat="+answer(params, c)); got != "OK" {
		t.Errorf("result put: %q", got)
	}
}

func fastPoll() invocation.PollOptions {
	return invocation.PollOptions{Initial: 10 * time.Millisecond, Max: 40 * time.Millisecond, Patience: 2 * time.Second}
}

func TestPrepareAndWait(t *testing.T) {
	storage, retrieve := relayServer(t)
	cert, sig := []byte("certificate DER \x00\xff"), bytes.Repeat([]byte("signature\x01"), 300)
	for _, tc := range []struct {
		name    string
		aes, aw bool
		size    int
	}{
		{"DES short", false, false, 100},
		{"DES long via fileid", false, true, 20000},
		{"AES short", true, true, 100},
		{"AES long via fileid", true, false, 200000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &invocation.Client{StorageURL: storage, RetrieveURL: retrieve, AES: tc.aes, ActiveWaiting: tc.aw,
				JSVersion: "2", Poll: fastPoll()}
			data := bytes.Repeat([]byte("d"), tc.size)
			req := invocation.Request{Op: invocation.OpSign, Format: "CAdES", Algorithm: "SHA256withRSA", Data: data,
				Properties: trifirma.Params{"serverUrl": "http://example.test/afirma-server-triphase-signer/SignatureService"}}
			inv, err := c.Prepare(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			link := inv.String()
			if len(link) > invocation.DefaultMaxURLLength {
				t.Fatalf("URL of %d characters", len(link))
			}
			if (inv.FileID != "") != (tc.size > 1000) {
				t.Fatalf("fileid %q for a %d-byte request", inv.FileID, tc.size)
			}
			go fakeApp(t, link, func(p map[string]string, ci cipher.Cipher) string {
				got, err := b64.DecodeString(p["dat"])
				if err != nil || !bytes.Equal(got, data) || p["format"] != "CAdES" {
					t.Errorf("the app received other data (%d bytes, %v)", len(got), err)
				}
				return ci.Encrypt(cert) + "|" + ci.Encrypt(sig) + "|" + ci.Encrypt([]byte(`{"filename": "a.pdf"}`))
			})
			res, err := c.Wait(context.Background(), inv)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(res.Certificate, cert) || !bytes.Equal(res.Signature, sig) || res.ExtraData["filename"] != "a.pdf" {
				t.Fatalf("result %+v", res)
			}
		})
	}
}

func TestWaitOutcomes(t *testing.T) {
	storage, retrieve := relayServer(t)
	c := &invocation.Client{StorageURL: storage, RetrieveURL: retrieve, Poll: fastPoll()}
	req := invocation.Request{Op: invocation.OpSelectCert}
	for _, tc := range []struct {
		stored string
		check  func(*invocation.Result, error) bool
	}{
		{"CANCEL", func(_ *invocation.Result, err error) bool { return errors.Is(err, invocation.ErrCancelled) }},
		{"err-11:=Operación cancelada", func(_ *invocation.Result, err error) bool { return errors.Is(err, invocation.ErrCancelled) }},
		{"ERR-07:=Los datos solicitados o enviados son inválidos", func(_ *invocation.Result, err error) bool {
			var re *invocation.ResultError
			return errors.As(err, &re) && re.Code == "ERR-07" && !errors.Is(err, invocation.ErrCancelled)
		}},
		{"SAF_03: No se pudo firmar", func(_ *invocation.Result, err error) bool {
			var re *invocation.ResultError
			return errors.As(err, &re) && re.Code == "SAF_03"
		}},
	} {
		inv, err := c.Prepare(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			time.Sleep(30 * time.Millisecond)
			rawPost(t, storage, "op=put&v=1_0&id="+inv.ID+"&dat="+tc.stored)
		}()
		res, err := c.Wait(context.Background(), inv)
		if !tc.check(res, err) {
			t.Errorf("%q: %+v, %v", tc.stored, res, err)
		}
	}
	// Nothing ever arrives.
	inv, _ := c.Prepare(context.Background(), req)
	c2 := *c
	c2.Poll.Patience = 400 * time.Millisecond
	if _, err := c2.Wait(context.Background(), inv); !errors.Is(err, invocation.ErrTimeout) {
		t.Errorf("err = %v, want ErrTimeout", err)
	}
	// #WAIT keeps the wait going past the patience.
	inv, _ = c2.Prepare(context.Background(), req)
	go func() {
		for range 8 { // 800 ms of #WAIT, twice the patience
			rawPost(t, storage, "op=put&v=1_0&id="+inv.ID+"&dat=%23WAIT")
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)
		rawPost(t, storage, "op=put&v=1_0&id="+inv.ID+"&dat="+inv.Cipher.Encrypt([]byte("cert")))
	}()
	res, err := c2.Wait(context.Background(), inv)
	if err != nil || string(res.Certificate) != "cert" {
		t.Errorf("after #WAIT: %+v, %v", res, err)
	}
	// Context cancellation.
	inv, _ = c.Prepare(context.Background(), req)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Wait(ctx, inv); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want DeadlineExceeded", err)
	}
	// A dead relay ends in ErrTimeout joined with the transport error.
	dead := &invocation.Client{StorageURL: "http://127.0.0.1:1/s", RetrieveURL: "http://127.0.0.1:1/r", Poll: invocation.PollOptions{Initial: 10 * time.Millisecond, Patience: 50 * time.Millisecond}}
	if _, err := dead.Wait(context.Background(), inv); !errors.Is(err, invocation.ErrTimeout) || !errors.Is(err, invocation.ErrRelay) {
		t.Errorf("dead relay: %v", err)
	}
}

func TestPrepareErrors(t *testing.T) {
	storage, _ := relayServer(t)
	big := invocation.Request{Op: invocation.OpSave, Data: make([]byte, 5000)}
	if _, err := (&invocation.Client{}).Prepare(context.Background(), big); !errors.Is(err, invocation.ErrInvalidRequest) {
		t.Errorf("no storage URL: %v", err)
	}
	if _, err := (&invocation.Client{StorageURL: storage}).Prepare(context.Background(), big); !errors.Is(err, invocation.ErrURLTooLong) {
		t.Errorf("no retrieve URL: %v", err)
	}
	c := &invocation.Client{StorageURL: storage, RetrieveURL: "http://x/" + strings.Repeat("r", 3000)}
	if _, err := c.Prepare(context.Background(), big); !errors.Is(err, invocation.ErrURLTooLong) {
		t.Errorf("huge retrieve URL: %v", err)
	}
	c = &invocation.Client{StorageURL: "http://127.0.0.1:1/s", RetrieveURL: "http://127.0.0.1:1/r"}
	if _, err := c.Prepare(context.Background(), big); !errors.Is(err, invocation.ErrRelay) {
		t.Errorf("dead relay: %v", err)
	}
}

func TestParseResult(t *testing.T) {
	des, _ := cipher.NewDES("12345678")
	enc := func(s string) string { return des.Encrypt([]byte(s)) }
	u := func(s string) string { return b64.EncodeURL([]byte(s)) }
	std := b64.EncodeStd([]byte("<batch>\xfb\xef\xbe</batch>")) // contains '+'
	tests := []struct {
		op   invocation.Operation
		text string
		c    cipher.Cipher
		want invocation.Result
		err  error
	}{
		{invocation.OpSign, enc("C") + "|" + enc("S") + "\n", des, invocation.Result{Certificate: []byte("C"), Signature: []byte("S")}, nil},
		{invocation.OpSign, u("S"), nil, invocation.Result{Signature: []byte("S")}, nil},
		{invocation.OpCosign, u("C") + "|" + u("S") + "|" + u("file.xsig"), nil, invocation.Result{Certificate: []byte("C"), Signature: []byte("S"), Extra: []byte("file.xsig")}, nil},
		{invocation.OpBatch, strings.ReplaceAll(std, "+", " ") + "|" + u("C"), nil, invocation.Result{BatchResult: []byte("<batch>\xfb\xef\xbe</batch>"), Certificate: []byte("C")}, nil},
		{invocation.OpBatch, enc("{}"), des, invocation.Result{BatchResult: []byte("{}")}, nil},
		{invocation.OpSelectCert, enc("C"), des, invocation.Result{Certificate: []byte("C")}, nil},
		{invocation.OpLoad, u("a") + "|" + u("b"), nil, invocation.Result{Data: [][]byte{[]byte("a"), []byte("b")}}, nil},
		{invocation.OpSave, "OK\r\n", nil, invocation.Result{}, nil},
		{invocation.OpSave, "CANCEL\r\n", nil, invocation.Result{}, invocation.ErrCancelled},
		{invocation.OpSign, "ERR-06:=El identificador para los datos es inválido\n", nil, invocation.Result{}, invocation.ErrNotReady},
		{invocation.OpSign, "#WAIT", nil, invocation.Result{}, invocation.ErrInProgress},
		{invocation.OpSign, "err-11:=SAF_1234 - Cancelado", nil, invocation.Result{}, invocation.ErrCancelled},
		{invocation.OpSign, "!!!|???", nil, invocation.Result{}, invocation.ErrMalformedResult},
		{invocation.OpSign, enc("C") + "|garbage", des, invocation.Result{}, cipher.ErrCiphertext},
		{invocation.OpSelectCert, u("a") + "|" + u("b"), nil, invocation.Result{}, invocation.ErrMalformedResult},
	}
	for i, tt := range tests {
		res, err := invocation.ParseResult(tt.op, tt.text, tt.c)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("%d: err = %v, want %v", i, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%d: %v", i, err)
			continue
		}
		if !bytes.Equal(res.Certificate, tt.want.Certificate) || !bytes.Equal(res.Signature, tt.want.Signature) ||
			!bytes.Equal(res.Extra, tt.want.Extra) || !bytes.Equal(res.BatchResult, tt.want.BatchResult) || len(res.Data) != len(tt.want.Data) {
			t.Errorf("%d: %+v, want %+v", i, res, tt.want)
		}
	}
	_, err := invocation.ParseResult(invocation.OpSign, "err-22:=ABCD1234 - No hay certificados", nil)
	var re *invocation.ResultError
	if !errors.As(err, &re) || re.Code != "ERR-22" || re.AppCode != "ABCD1234" || re.Message != "No hay certificados" {
		t.Errorf("ResultError = %+v", re)
	}
}

func TestNewID(t *testing.T) {
	id, err := invocation.NewID(nil)
	if err != nil || len(id) != 20 || !relay.ValidID(id) || strings.Trim(id, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		t.Fatalf("%q %v", id, err)
	}
}
