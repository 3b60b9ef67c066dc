package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

// def returns a small definition that differs per identifier and version.
func def(id string, v int) []byte {
	return fmt.Appendf(nil, `{"identifier":%q,"title":"v%d","nodes":[],"connections":[]}`, id, v)
}

func testWorkflows(t *testing.T, open opener) {
	t.Run("CreateGet", func(t *testing.T) {
		s := open(t)
		in := store.Workflow{Identifier: "deploy", Definition: def("deploy", 1), CreatedBy: "ann", UpdatedBy: "ann", CreatedAt: at(0), UpdatedAt: at(0)}
		got, err := s.CreateWorkflow(ctx(t), in)
		must(t, "CreateWorkflow", err)
		want := in
		want.Version = 1
		checkWorkflow(t, "CreateWorkflow", got, want)

		got, err = s.GetWorkflow(ctx(t), "deploy")
		must(t, "GetWorkflow", err)
		checkWorkflow(t, "GetWorkflow", got, want)
		got, err = s.GetWorkflowVersion(ctx(t), "deploy", 1)
		must(t, "GetWorkflowVersion", err)
		checkWorkflow(t, "GetWorkflowVersion", got, want)

		_, err = s.GetWorkflow(ctx(t), "missing")
		wantErr(t, "GetWorkflow(missing)", err, store.ErrNotFound)
		_, err = s.GetWorkflowVersion(ctx(t), "deploy", 2)
		wantErr(t, "GetWorkflowVersion(deploy, 2)", err, store.ErrNotFound)
	})

	t.Run("CreateZeroTimesMeanNow", func(t *testing.T) {
		s := open(t)
		before := time.Now()
		got, err := s.CreateWorkflow(ctx(t), store.Workflow{Identifier: "w", Definition: def("w", 1), CreatedBy: "ann", UpdatedBy: "ann"})
		after := time.Now()
		must(t, "CreateWorkflow", err)
		c := checker{t, "CreateWorkflow"}
		c.between("CreatedAt", got.CreatedAt, before, after)
		c.between("UpdatedAt", got.UpdatedAt, before, after)
		stored, err := s.GetWorkflow(ctx(t), "w")
		must(t, "GetWorkflow", err)
		checkWorkflow(t, "GetWorkflow", stored, got)
	})

	t.Run("CreateDuplicate", func(t *testing.T) {
		s := open(t)
		first := store.Workflow{Identifier: "deploy", Definition: def("deploy", 1), CreatedBy: "ann", UpdatedBy: "ann", CreatedAt: at(0), UpdatedAt: at(0)}
		_, err := s.CreateWorkflow(ctx(t), first)
		must(t, "CreateWorkflow", err)
		_, err = s.CreateWorkflow(ctx(t), store.Workflow{Identifier: "deploy", Definition: def("deploy", 9), CreatedBy: "bob", UpdatedBy: "bob", CreatedAt: at(1), UpdatedAt: at(1)})
		wantErr(t, "CreateWorkflow(duplicate)", err, store.ErrExists)
		got, err := s.GetWorkflow(ctx(t), "deploy")
		must(t, "GetWorkflow", err)
		first.Version = 1
		checkWorkflow(t, "GetWorkflow after duplicate", got, first)
	})

	t.Run("UpdateVersions", func(t *testing.T) {
		s := open(t)
		v1 := store.Workflow{Identifier: "deploy", Version: 1, Definition: def("deploy", 1), CreatedBy: "ann", UpdatedBy: "ann", CreatedAt: at(0), UpdatedAt: at(0)}
		_, err := s.CreateWorkflow(ctx(t), v1)
		must(t, "CreateWorkflow", err)
		versions := []store.Workflow{v1}
		for v := 2; v <= 3; v++ {
			// CreatedBy and CreatedAt given here are ignored: they stay
			// those of version 1.
			in := store.Workflow{Identifier: "deploy", Definition: def("deploy", v), CreatedBy: "mallory", UpdatedBy: fmt.Sprintf("user%d", v), CreatedAt: at(100), UpdatedAt: at(v)}
			got, err := s.UpdateWorkflow(ctx(t), in)
			must(t, fmt.Sprintf("UpdateWorkflow v%d", v), err)
			want := store.Workflow{Identifier: "deploy", Version: v, Definition: def("deploy", v), CreatedBy: "ann", UpdatedBy: in.UpdatedBy, CreatedAt: at(0), UpdatedAt: at(v)}
			checkWorkflow(t, fmt.Sprintf("UpdateWorkflow v%d", v), got, want)
			versions = append(versions, want)
		}
		got, err := s.GetWorkflow(ctx(t), "deploy")
		must(t, "GetWorkflow", err)
		checkWorkflow(t, "GetWorkflow (newest)", got, versions[2])
		for _, want := range versions {
			got, err := s.GetWorkflowVersion(ctx(t), "deploy", want.Version)
			must(t, fmt.Sprintf("GetWorkflowVersion %d", want.Version), err)
			checkWorkflow(t, fmt.Sprintf("GetWorkflowVersion %d", want.Version), got, want)
		}
		_, err = s.UpdateWorkflow(ctx(t), store.Workflow{Identifier: "missing", Definition: def("missing", 1), UpdatedBy: "ann"})
		wantErr(t, "UpdateWorkflow(missing)", err, store.ErrNotFound)
	})

	t.Run("List", func(t *testing.T) {
		s := open(t)
		list, err := s.ListWorkflows(ctx(t))
		must(t, "ListWorkflows (empty)", err)
		if len(list) != 0 {
			t.Fatalf("ListWorkflows on an empty store = %d workflows", len(list))
		}
		for i, id := range []string{"c", "a", "b"} {
			_, err := s.CreateWorkflow(ctx(t), store.Workflow{Identifier: id, Definition: def(id, 1), CreatedBy: "ann", UpdatedBy: "ann", CreatedAt: at(i), UpdatedAt: at(i)})
			must(t, "CreateWorkflow "+id, err)
		}
		a2, err := s.UpdateWorkflow(ctx(t), store.Workflow{Identifier: "a", Definition: def("a", 2), UpdatedBy: "bob", UpdatedAt: at(10)})
		must(t, "UpdateWorkflow a", err)
		must(t, "DeleteWorkflow c", s.DeleteWorkflow(ctx(t), "c"))

		list, err = s.ListWorkflows(ctx(t))
		must(t, "ListWorkflows", err)
		want := []store.Workflow{
			a2,
			{Identifier: "b", Version: 1, Definition: def("b", 1), CreatedBy: "ann", UpdatedBy: "ann", CreatedAt: at(2), UpdatedAt: at(2)},
		}
		if len(list) != len(want) {
			t.Fatalf("ListWorkflows = %d workflows, want %d", len(list), len(want))
		}
		for i := range want {
			checkWorkflow(t, fmt.Sprintf("ListWorkflows[%d]", i), list[i], want[i])
		}
	})

	t.Run("DeleteAndRecreate", func(t *testing.T) {
		s := open(t)
		v1 := store.Workflow{Identifier: "deploy", Version: 1, Definition: def("deploy", 1), CreatedBy: "ann", UpdatedBy: "ann", CreatedAt: at(0), UpdatedAt: at(0)}
		_, err := s.CreateWorkflow(ctx(t), v1)
		must(t, "CreateWorkflow", err)
		v2, err := s.UpdateWorkflow(ctx(t), store.Workflow{Identifier: "deploy", Definition: def("deploy", 2), UpdatedBy: "bob", UpdatedAt: at(1)})
		must(t, "UpdateWorkflow", err)

		must(t, "DeleteWorkflow", s.DeleteWorkflow(ctx(t), "deploy"))
		_, err = s.GetWorkflow(ctx(t), "deploy")
		wantErr(t, "GetWorkflow after delete", err, store.ErrNotFound)
		list, err := s.ListWorkflows(ctx(t))
		must(t, "ListWorkflows", err)
		if len(list) != 0 {
			t.Errorf("ListWorkflows after delete = %d workflows, want 0", len(list))
		}
		for _, w := range []store.Workflow{v1, v2} {
			w.Deleted = true
			got, err := s.GetWorkflowVersion(ctx(t), "deploy", w.Version)
			must(t, fmt.Sprintf("GetWorkflowVersion %d after delete", w.Version), err)
			checkWorkflow(t, fmt.Sprintf("GetWorkflowVersion %d after delete", w.Version), got, w)
		}
		wantErr(t, "DeleteWorkflow again", s.DeleteWorkflow(ctx(t), "deploy"), store.ErrNotFound)
		wantErr(t, "DeleteWorkflow(missing)", s.DeleteWorkflow(ctx(t), "missing"), store.ErrNotFound)
		_, err = s.UpdateWorkflow(ctx(t), store.Workflow{Identifier: "deploy", Definition: def("deploy", 3), UpdatedBy: "bob"})
		wantErr(t, "UpdateWorkflow after delete", err, store.ErrNotFound)

		// Creating it again continues after the last version.
		in := store.Workflow{Identifier: "deploy", Definition: def("deploy", 3), CreatedBy: "cid", UpdatedBy: "cid", CreatedAt: at(5), UpdatedAt: at(5)}
		v3, err := s.CreateWorkflow(ctx(t), in)
		must(t, "CreateWorkflow after delete", err)
		want := in
		want.Version = 3
		checkWorkflow(t, "CreateWorkflow after delete", v3, want)
		got, err := s.GetWorkflow(ctx(t), "deploy")
		must(t, "GetWorkflow after re-create", err)
		checkWorkflow(t, "GetWorkflow after re-create", got, want)
		list, err = s.ListWorkflows(ctx(t))
		must(t, "ListWorkflows", err)
		if len(list) != 1 {
			t.Fatalf("ListWorkflows after re-create = %d workflows, want 1", len(list))
		}
		checkWorkflow(t, "ListWorkflows[0] after re-create", list[0], want)
		old, err := s.GetWorkflowVersion(ctx(t), "deploy", 1)
		must(t, "GetWorkflowVersion 1 after re-create", err)
		v1.Deleted = true
		checkWorkflow(t, "GetWorkflowVersion 1 after re-create", old, v1)
		_, err = s.CreateWorkflow(ctx(t), in)
		wantErr(t, "CreateWorkflow after re-create", err, store.ErrExists)
	})
}
