package storetest

import (
	"testing"

	"github.com/sluice-run/sluice/internal/store"
)

// testAIProviders checks store.AIProviderStore, for stores that implement
// it; others skip it.
func testAIProviders(t *testing.T, open opener) {
	if _, ok := open(t).(store.AIProviderStore); !ok {
		t.Skip("the store does not implement store.AIProviderStore")
	}
	tests := []struct {
		name string
		run  func(t *testing.T, ps store.AIProviderStore)
	}{
		{"CreateGetListDelete", func(t *testing.T, ps store.AIProviderStore) {
			local := store.AIProvider{Name: "local", BaseURL: "http://127.0.0.1:11434/v1", Model: "llama3.1", CreatedBy: "ann", CreatedAt: at(1)}
			openai := store.AIProvider{Name: "openai", BaseURL: "https://api.openai.com/v1", APIKeySecret: "OPENAI_API_KEY", Model: "gpt-4o-mini",
				Headers: map[string]string{"OpenAI-Organization": "org-1"}, Default: true}
			must(t, "Create local", ps.CreateAIProvider(ctx(t), local))
			must(t, "Create openai", ps.CreateAIProvider(ctx(t), openai))
			wantErr(t, "Create local again", ps.CreateAIProvider(ctx(t), local), store.ErrExists)
			got, err := ps.GetAIProvider(ctx(t), "openai")
			must(t, "Get", err)
			if got.BaseURL != openai.BaseURL || got.APIKeySecret != "OPENAI_API_KEY" || got.Model != "gpt-4o-mini" || !got.Default || got.Headers["OpenAI-Organization"] != "org-1" {
				t.Errorf("Get = %+v, want %+v", got, openai)
			}
			got, err = ps.GetAIProvider(ctx(t), "local")
			must(t, "Get local", err)
			if got.Default || got.APIKeySecret != "" || len(got.Headers) != 0 || got.CreatedBy != "ann" || !near(got.CreatedAt, at(1)) {
				t.Errorf("Get local = %+v", got)
			}
			list, err := ps.ListAIProviders(ctx(t))
			must(t, "List", err)
			if len(list) != 2 || list[0].Name != "local" || list[1].Name != "openai" {
				t.Errorf("List = %+v, want local then openai", list)
			}
			must(t, "Delete", ps.DeleteAIProvider(ctx(t), "local"))
			wantErr(t, "Delete again", ps.DeleteAIProvider(ctx(t), "local"), store.ErrNotFound)
			_, err = ps.GetAIProvider(ctx(t), "local")
			wantErr(t, "Get deleted", err, store.ErrNotFound)
		}},
		{"OneDefault", func(t *testing.T, ps store.AIProviderStore) {
			_, err := ps.DefaultAIProvider(ctx(t))
			wantErr(t, "Default of none", err, store.ErrNotFound)
			must(t, "Create a", ps.CreateAIProvider(ctx(t), store.AIProvider{Name: "a", BaseURL: "http://a/v1", Model: "m", Default: true}))
			must(t, "Create b", ps.CreateAIProvider(ctx(t), store.AIProvider{Name: "b", BaseURL: "http://b/v1", Model: "m", Default: true}))
			must(t, "Create c", ps.CreateAIProvider(ctx(t), store.AIProvider{Name: "c", BaseURL: "http://c/v1", Model: "m"}))
			d, err := ps.DefaultAIProvider(ctx(t))
			must(t, "Default", err)
			if d.Name != "b" {
				t.Errorf("Default = %s, want b (the last created with the mark)", d.Name)
			}
			// A refused create does not take the mark away.
			wantErr(t, "Create a again", ps.CreateAIProvider(ctx(t), store.AIProvider{Name: "a", BaseURL: "http://a/v1", Model: "m", Default: true}), store.ErrExists)
			if d, err := ps.DefaultAIProvider(ctx(t)); err != nil || d.Name != "b" {
				t.Errorf("Default after a refused create = %+v, %v; want b", d, err)
			}
			must(t, "Delete b", ps.DeleteAIProvider(ctx(t), "b"))
			_, err = ps.DefaultAIProvider(ctx(t))
			wantErr(t, "Default after deleting it", err, store.ErrNotFound)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, open(t).(store.AIProviderStore)) })
	}
}
