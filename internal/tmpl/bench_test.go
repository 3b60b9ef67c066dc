package tmpl

import (
	"fmt"
	"testing"
	"time"

	"github.com/itchyny/gojq"
)

// webhookConfig is a typical WEBHOOK config: a url with one output
// reference, two headers (one with a secret) and a body of three fields read
// from the trigger.
const webhookConfig = `{
	"type": "WEBHOOK",
	"url": "https://api.example.com/services/{{ .outputs.trigger.service }}/deploy",
	"method": "POST",
	"headers": {"Authorization": "Bearer {{ .secrets.API_TOKEN }}", "Content-Type": "application/json"},
	"body": {
		"message": "{{ .outputs.trigger.message }}",
		"count": "{{ .outputs.trigger.count }}",
		"service": "{{ .outputs.trigger.service // \"unknown\" }}"
	}
}`

func benchContext(outputs int) *Context {
	c := &Context{
		Outputs: map[string]any{
			"trigger": map[string]any{"service": "billing", "message": "ship it", "count": 3.0},
		},
		Secrets:     map[string]string{"API_TOKEN": "tok_0123456789abcdef"},
		WorkflowRun: map[string]any{"identifier": "wfr_0123456789abcdef"},
		// A generous time limit: the machine running the benchmarks may be
		// loaded, and a render that waits for a CPU must not fail.
		Limits: Limits{Timeout: time.Minute},
	}
	for i := range outputs - 1 {
		c.Outputs[fmt.Sprintf("node_%d", i)] = map[string]any{
			"response": map[string]any{"status": 200.0, "data": map[string]any{"id": i, "items": []any{"a", "b", "c"}}},
		}
	}
	return c
}

// BenchmarkRenderWebhookConfig renders a config compiled once: the engine's
// path.
func BenchmarkRenderWebhookConfig(b *testing.B) {
	v, err := CompileValue(decode(b, webhookConfig), "config")
	if err != nil {
		b.Fatal(err)
	}
	c := benchContext(1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Render(c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderWebhookConfigParseEachTime is the naive baseline: it parses
// and compiles the config's templates on every render.
func BenchmarkRenderWebhookConfigParseEachTime(b *testing.B) {
	src := decode(b, webhookConfig)
	c := benchContext(1)
	b.ReportAllocs()
	for b.Loop() {
		v, err := CompileValue(src, "config")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := v.Render(c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderWebhookConfigWholeContext is the other naive baseline: the
// compiled queries run against one input holding the whole context, as a
// straightforward use of gojq would do (and which would also hand every
// secret to every expression).
func BenchmarkRenderWebhookConfigWholeContext(b *testing.B) {
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("outputs=%d", n), func(b *testing.B) {
			exprs := []string{".outputs.trigger.service", ".secrets.API_TOKEN", ".outputs.trigger.message",
				".outputs.trigger.count", `.outputs.trigger.service // "unknown"`}
			codes := make([]*gojq.Code, len(exprs))
			for i, e := range exprs {
				q, err := gojq.Parse(e)
				if err != nil {
					b.Fatal(err)
				}
				if codes[i], err = gojq.Compile(q); err != nil {
					b.Fatal(err)
				}
			}
			c := benchContext(n)
			b.ReportAllocs()
			for b.Loop() {
				secrets := map[string]any{}
				for k, v := range c.Secrets {
					secrets[k] = v
				}
				in := map[string]any{"outputs": c.Outputs, "secrets": secrets, "workflowRun": c.WorkflowRun}
				for _, code := range codes {
					it := code.Run(in)
					if v, _ := it.Next(); v == nil {
						b.Fatal("no value")
					}
				}
			}
		})
	}
}

// BenchmarkRenderOutputsScaling shows that the cost of a render does not
// grow with the number of earlier node outputs in the context.
func BenchmarkRenderOutputsScaling(b *testing.B) {
	v, err := CompileValue(decode(b, webhookConfig), "config")
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("outputs=%d", n), func(b *testing.B) {
			c := benchContext(n)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Render(c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRenderLiteralTemplate is the cost of a template without {{ }}.
func BenchmarkRenderLiteralTemplate(b *testing.B) {
	t, err := Compile("application/json")
	if err != nil {
		b.Fatal(err)
	}
	c := benchContext(1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := t.Render(c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderGuardedOps renders a template that goes through the size
// bound's checks (+, string interpolation, tojson, join, an assignment), to
// measure what the checks cost an ordinary template.
func BenchmarkRenderGuardedOps(b *testing.B) {
	tm, err := Compile(`{{ .outputs.trigger.name + "-" + (.outputs.trigger.tags | join(",")) }} {{ "\(.outputs.trigger.count + 1)" }} {{ .outputs.trigger.nested | .k = "x" | tojson }}`)
	if err != nil {
		b.Fatal(err)
	}
	c := &Context{Outputs: map[string]any{"trigger": map[string]any{"name": "api", "tags": []any{"a", "b"}, "count": 3, "nested": map[string]any{"k": "v"}}}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tm.Render(c); err != nil {
			b.Fatal(err)
		}
	}
}
