// Command trifirma runs the triphase signature server and a device-side client to test it.
//
//	trifirma serve [-addr 127.0.0.1:8080] [flags]   run the services with embedded defaults
//	trifirma sign  -in FILE [-url URL] [flags]      sign FILE through a server, playing the device
//	trifirma version
//
// Run "trifirma serve -h" or "trifirma sign -h" for the flags.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is the server version reported at /version.
var version = "trifirma 0.1.0"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], stderr)
	case "sign":
		err = sign(ctx, args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, version)
	case "-h", "--help", "help":
		usage(stdout)
	default:
		fmt.Fprintf(stderr, "trifirma: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	if err != nil {
		if err == errUsage {
			return 2
		}
		fmt.Fprintln(stderr, "trifirma:", err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  trifirma serve [-addr 127.0.0.1:8080] [flags]   run the signature services (see serve -h)
  trifirma sign -in FILE [-url URL] [flags]       sign FILE through a server as a device would (see sign -h)
  trifirma version
`)
}
