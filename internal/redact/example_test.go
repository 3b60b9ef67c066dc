package redact_test

import (
	"fmt"
	"os"

	"github.com/sluice-run/sluice/internal/redact"
)

func Example() {
	r := redact.New()
	r.Add("s3cr3t-t0ken") // registers the value and its encodings

	fmt.Println(r.String("GET /hook?token=s3cr3t-t0ken"))
	fmt.Println(r.String("Authorization: Basic YWRtaW46czNjcjN0LXQwa2Vu"))

	out, _ := r.JSON(map[string]any{"echo": "Bearer s3cr3t-t0ken", "status": 200.0})
	fmt.Println(string(out.Bytes()))
	// Output:
	// GET /hook?token=***
	// Authorization: Basic YWRtaW46***
	// {"echo":"Bearer ***","status":200}
}

func ExampleRedactor_NewWriter() {
	r := redact.New()
	r.Add("s3cr3t-t0ken")
	w := r.NewWriter(os.Stdout)
	// The value is split across two writes.
	fmt.Fprint(w, "token=s3cr3t")
	fmt.Fprint(w, "-t0ken\n")
	w.Close()
	// Output:
	// token=***
}

func ExampleRedactor_Lines() {
	r := redact.New()
	r.Add("s3cr3t-t0ken")
	// The value is split across two lines of one batch; the last line holds
	// only its start, which is no match and stays as it is.
	for _, l := range r.Lines([]string{"token=s3cr", "3t-t0ken ok", "s3cr3t"}) {
		fmt.Println(l.String())
	}
	// Output:
	// token=***
	// *** ok
	// s3cr3t
}
