// Package store defines what sluice keeps: workflow definitions and their
// versions, runs, node runs and their logs, organization secrets (encrypted)
// and audit events. Implementations live in sub-packages (sqlite,
// postgres) and all pass the conformance suite in storetest.
//
// Run data that can hold secrets (outputs, log messages, error texts, links)
// is accepted only as redact.Text or redact.JSON, so an unredacted write does
// not compile.
//
// Times are returned in UTC with at least millisecond precision. A zero time
// in a value passed to a write means the time of the write.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/sluice-run/sluice/internal/redact"
)

// Errors returned by every implementation; test with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	// ErrConflict is returned when a write does not apply to the current
	// state, such as completing a node run that is no longer IN_PROGRESS.
	ErrConflict = errors.New("conflict")
	// ErrUnavailable wraps a transient failure of the store (busy, locked,
	// disk full, I/O): nothing was applied, and the same call may succeed
	// later. The API answers it with 503 and Retry-After.
	ErrUnavailable = errors.New("store unavailable")
)

// Run and node-run statuses and results, as in Port's API.
const (
	StatusInProgress = "IN_PROGRESS"
	StatusCompleted  = "COMPLETED"

	ResultSuccess   = "SUCCESS"
	ResultFailed    = "FAILED"
	ResultCancelled = "CANCELLED"
)

// Workflow is one stored version of a definition. Definition is the JSON the
// user sent, normalized by the workflow package; it never holds secret
// values, only references.
type Workflow struct {
	Identifier string
	Version    int
	Definition []byte
	CreatedBy  string
	UpdatedBy  string
	CreatedAt  time.Time // when version 1 was created
	UpdatedAt  time.Time // when this version was created
	// Deleted reports that the workflow this version belongs to was
	// deleted; the versions of a deleted workflow stay deleted when its
	// identifier is created again.
	Deleted bool
}

// Run is a workflow run.
type Run struct {
	Identifier      string // wfr_...
	WorkflowID      string
	WorkflowVersion int
	Status          string
	Result          string // "" while IN_PROGRESS
	CreatedBy       string
	TriggerNode     string // identifier of the trigger node that fired
	CreatedAt       time.Time
	UpdatedAt       time.Time
	CompletedAt     *time.Time
}

// NodeRun is one node's run within a workflow run.
type NodeRun struct {
	Identifier string // wfnr_...
	RunID      string
	NodeID     string
	Seq        int // order within the run, from 0 (the trigger)
	Status     string
	Result     string
	Output     redact.JSON // zero while IN_PROGRESS
	Links      []redact.Text
	// Waiting is set while an IN_PROGRESS node run waits to be completed
	// from outside (an async webhook, a Kafka consumer, an approval).
	// Completing the node run clears it.
	Waiting bool
	// Attempts is how many times the engine began executing the node run
	// (see Store.BeginAttempt). A node run inserted by a transition's Start
	// is stored with the Attempts it carries, so that the engine counts the
	// first execution in the commit that starts the node run.
	Attempts    int
	CreatedAt   time.Time
	UpdatedAt   time.Time
	CompletedAt *time.Time
}

// Log is one line of a node run's log.
type Log struct {
	NodeRunID string
	Level     string // DEBUG | INFO | WARN | ERROR
	Message   redact.Text
	// Tags are Port's log tags. Keys and values are caller text, so both
	// are redacted: the compiler refuses a tag that has not passed through
	// a Redactor, as it refuses such a Message.
	Tags map[redact.Text]redact.Text
	// TagList holds tags sent as a list of strings (Ocean's GitHub
	// integration sends ["workflow_completion"]), redacted like Tags. At
	// most one of Tags and TagList is set; a non-nil TagList, even empty,
	// is kept and shown as a list. Both are kept in the log's one tags
	// column, a list as a JSON array.
	TagList   []redact.Text
	CreatedAt time.Time
}

// TagStrings returns log tags as plain strings, to encode or show them: a
// new map, empty (not nil) when tags is.
func TagStrings(tags map[redact.Text]redact.Text) map[string]string {
	out := make(map[string]string, len(tags))
	for k, v := range tags {
		out[k.String()] = v.String()
	}
	return out
}

// Transition is one atomic step of a run: what the engine commits before it
// goes on. Every field is optional; an implementation applies all of them in
// one transaction or none. A transition on a run that is no longer
// IN_PROGRESS fails with ErrConflict and applies nothing (a cancel won).
type Transition struct {
	RunID string
	// Complete finishes a node run that must still be IN_PROGRESS (else
	// ErrConflict and nothing is applied).
	Complete *NodeRunCompletion
	// Logs are appended; they may belong to the node runs Passed and
	// Start insert.
	Logs []Log
	// Passed inserts node runs as they are, before Start: node runs this
	// step began and completed at once (flow-control nodes the engine
	// evaluates without a commit of their own, such as CONDITION), in
	// order of Seq. They are applied with the rest of the transition or
	// not at all.
	Passed []NodeRun
	// Start inserts a new node run.
	Start *NodeRun
	// Finish completes the run, which must still be IN_PROGRESS (else
	// ErrConflict and nothing is applied).
	Finish *RunCompletion
	// Wait marks an IN_PROGRESS node run (by identifier) as waiting for a
	// completion from outside (NodeRun.Waiting), so that a resumed engine
	// does not execute it again. ErrNotFound (and nothing is applied) when
	// the run has no such node run, ErrConflict when it is not IN_PROGRESS
	// (including the node run Complete finishes). It may name the node run
	// Start inserts; marking a waiting node run again is no error.
	Wait string
	// WaitUntil, with Wait, is the deadline of the wait (zero: none, or
	// the one already stored when the node run waits already). A store
	// that implements WaitStore keeps it with the node run and lists the
	// node run from ExpiredWaits once it has passed.
	WaitUntil time.Time
	// WaitContinue, with WaitUntil, says that the node succeeds with
	// {"timeout": true} at the deadline (onTimeout "continue") instead of
	// failing.
	WaitContinue bool
	// WakeAt, WaitState and WaitFor, with Wait, are kept by a store that
	// implements WakeStore: the time the executor asks to be called again,
	// the state it saved for that call (redacted) and what the node run
	// waits for ("integration:ID" for an external integration). A Wait that
	// sets none of them changes none of them; one that sets any stores
	// WakeAt (zero clears it) and keeps the stored WaitState or WaitFor
	// when they are zero. docs/decisions/012-wake-and-handoff.md.
	WakeAt    time.Time
	WaitState redact.JSON
	WaitFor   string
	// Audit events (secret resolutions by this step) are recorded with it.
	Audit []AuditEvent
	// Seal, kept by a store that implements SealStore, is appended to the
	// run's sealed rows with the step, unless Finish is set: Finish deletes
	// every sealed row of the run instead, in the same transaction.
	Seal *SealedValues
}

// NodeRunCompletion finishes a node run.
type NodeRunCompletion struct {
	NodeRunID   string
	Result      string
	Output      redact.JSON
	Links       []redact.Text
	CompletedAt time.Time
}

// RunCompletion finishes a run.
type RunCompletion struct {
	Result      string
	CompletedAt time.Time
}

// RunFilter selects runs for ListRuns. Empty slices match everything.
type RunFilter struct {
	WorkflowIDs []string
	Statuses    []string
	Results     []string
	CreatedBy   []string
	// RunIDs and WorkflowVersions are Port's workflowRunIdentifiers and
	// workflowVersions: run identifiers, and versions of the workflows
	// (with WorkflowIDs, the versions of those; matched on the run's
	// WorkflowVersion).
	RunIDs           []string
	WorkflowVersions []int
	Limit            int // 0 means the implementation's default (100); at most 1000
	Offset           int

	// Visibility and keyset paging, applied by the store's query itself so
	// that a list costs what its page and its visible runs cost, whatever
	// the number of runs the caller may not view.
	//
	// Viewer, when set, keeps only the runs the viewer may view: those it
	// created, and those of a workflow version whose definition lets anyone
	// view its runs (allowAnyoneToViewRuns, true when the definition does
	// not say). Total then counts those only. Nil keeps every run (Admins,
	// machine clients with read:runs).
	Viewer *RunViewer
	// Before, when set, keeps only the runs after this position in the
	// list's order, newest first by (CreatedAt, Identifier): created
	// before Before.CreatedAt, or at the same time with a smaller
	// Identifier. Offset then counts from there. Total does not depend on
	// it. A page that ends with run r is followed, without skipping or
	// repeating a run whatever is inserted meanwhile, by the page with
	// Before = RunCursorOf(r).
	Before *RunCursor
	// After, when set, keeps only the runs before this position in the
	// list's order (newer: created after After.CreatedAt, or at the same
	// time with a greater Identifier), and the page is the Limit of them
	// nearest to it, still returned newest first; Offset skips that many
	// of the nearest. It pages backwards: the page before one that starts
	// with run r is the page with After = RunCursorOf(r), whatever was
	// inserted meanwhile (a newer run only adds to the pages before that).
	// Total does not depend on it. With Before as well, the page is of the runs between
	// the two, nearest to After.
	After *RunCursor
}

// RunViewer is who lists runs, for RunFilter.Viewer.
type RunViewer struct {
	// ActorID is the viewer's id as runs record their creator
	// (Run.CreatedBy).
	ActorID string
}

// RunCursor is a position in a run list, for RunFilter.Before and After.
type RunCursor struct {
	CreatedAt  time.Time
	Identifier string
}

// RunCursorOf is the position of run r in a run list.
func RunCursorOf(r Run) RunCursor { return RunCursor{CreatedAt: r.CreatedAt, Identifier: r.Identifier} }

// Secret is an organization secret as stored: the value only as ciphertext.
type Secret struct {
	Name        string
	Description string
	KeyID       string // the key-ring key that encrypted Ciphertext
	// KeyFingerprint is the fingerprint of KeyID's key (see SecretKey). A
	// write records KeyID with it when the store has no record of KeyID
	// yet, in the same transaction, so the store never holds a ciphertext
	// of an unrecorded key. Reads return the recorded fingerprint: nil for
	// a secret written before key records existed.
	KeyFingerprint []byte
	Ciphertext     []byte // nonce and sealed value
	CreatedBy      string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// SecretKey records a key-ring key that secrets were written with: its id
// and a keyed fingerprint (a one-way function of the key, never the key),
// so that a process holding another key ring can tell, before it reads or
// writes a secret, that the ring is not the one the store was written with.
type SecretKey struct {
	ID          string
	Fingerprint []byte
	CreatedAt   time.Time
}

// AuditEvent records who did what to a secret, or which run resolved it.
// It never holds a value.
type AuditEvent struct {
	ID        int64
	Action    string // secret.create | secret.update | secret.delete | secret.resolve | key.rotate
	Actor     string
	Secret    string // the secret's name
	RunID     string
	NodeRunID string
	CreatedAt time.Time
}

// Store is everything sluice keeps. Implementations are safe for concurrent
// use. Any method may fail with an error matching ErrUnavailable when the
// store is briefly unusable (locked by another process, disk full, I/O
// errors); such a call applied nothing and may be retried.
type Store interface {
	// CreateWorkflow stores version 1 of a new workflow; ErrExists when the
	// identifier is taken by a workflow that is not deleted. Creating an
	// identifier that was deleted starts again after its last version.
	CreateWorkflow(ctx context.Context, wf Workflow) (Workflow, error)
	// UpdateWorkflow stores a new version of an existing workflow and
	// returns it with Version set; ErrNotFound when there is none.
	UpdateWorkflow(ctx context.Context, wf Workflow) (Workflow, error)
	// GetWorkflow returns the newest version; ErrNotFound when missing or
	// deleted.
	GetWorkflow(ctx context.Context, identifier string) (Workflow, error)
	// GetWorkflowVersion returns one version, deleted or not (runs keep the
	// version they started with).
	GetWorkflowVersion(ctx context.Context, identifier string, version int) (Workflow, error)
	// ListWorkflows returns the newest version of every workflow that is not
	// deleted, ordered by identifier.
	ListWorkflows(ctx context.Context) ([]Workflow, error)
	// DeleteWorkflow marks a workflow deleted; its versions stay for its runs.
	DeleteWorkflow(ctx context.Context, identifier string) error

	// CreateRun inserts a run and its first node run (the trigger) in one
	// transaction, with the trigger's logs; ErrExists when the run or node
	// run identifier is taken.
	CreateRun(ctx context.Context, run Run, first NodeRun, logs []Log) error
	// Apply commits a transition atomically: ErrNotFound when the run or the
	// node run to complete is missing, ErrExists when the started node run's
	// identifier or Seq is taken.
	Apply(ctx context.Context, t Transition) error
	// GetRun returns a run; ErrNotFound when missing.
	GetRun(ctx context.Context, identifier string) (Run, error)
	// ListRuns returns runs newest first, and the total that match the filter.
	ListRuns(ctx context.Context, f RunFilter) ([]Run, int, error)
	// ListInProgressRuns returns every run still IN_PROGRESS, oldest first,
	// for resuming after a crash.
	ListInProgressRuns(ctx context.Context) ([]Run, error)
	// NodeRuns returns a run's node runs in order (Seq).
	NodeRuns(ctx context.Context, runID string) ([]NodeRun, error)
	// GetNodeRun returns one node run; ErrNotFound when missing.
	GetNodeRun(ctx context.Context, identifier string) (NodeRun, error)
	// Logs returns a node run's logs in the order they were written.
	Logs(ctx context.Context, nodeRunID string) ([]Log, error)
	// AppendLogs adds logs to node runs outside a transition, all in one
	// transaction; ErrNotFound when a node run is missing.
	AppendLogs(ctx context.Context, logs []Log) error
	// BeginAttempt commits, in a transaction of its own, one more attempt
	// to execute a node run, and returns the node run's attempt count
	// after it. The engine calls it before it executes a node run again
	// (after a restart), so that a node whose execution keeps killing the
	// process is counted and can be failed after a bound instead of being
	// retried forever. ErrNotFound when the node run is missing,
	// ErrConflict (and nothing is counted) when the node run or its run is
	// not IN_PROGRESS, or the node run waits for a completion from outside
	// (it is not executed again).
	BeginAttempt(ctx context.Context, nodeRunID string) (int, error)

	// CreateSecret creates a secret (ErrExists when the name is taken) and
	// records the audit event in the same transaction. The secret's key is
	// recorded as for UpdateSecret.
	CreateSecret(ctx context.Context, s Secret, ev AuditEvent) error
	// UpdateSecret replaces a secret's ciphertext, key id, description and
	// UpdatedAt, with its audit event in the same transaction, but only if
	// the stored UpdatedAt still equals ifUpdatedAt: the UpdatedAt that
	// GetSecret or ListSecrets of this store returned when the caller read
	// the secret, compared in the store's own representation. Otherwise it
	// fails with ErrConflict and writes nothing, audit event included; the
	// caller re-reads and tries again. A zero ifUpdatedAt never matches. It
	// fails with ErrNotFound when the secret is missing. Callers should make
	// each update's UpdatedAt later than the one it replaces, so that every
	// write is seen by a conditional update racing it.
	//
	// Both writes record s.KeyID with s.KeyFingerprint when the key records
	// lack it, in the same transaction. They fail with ErrConflict, writing
	// nothing, when KeyID is recorded with another fingerprint, and with an
	// error when KeyID is not recorded and KeyFingerprint is empty.
	UpdateSecret(ctx context.Context, s Secret, ifUpdatedAt time.Time, ev AuditEvent) error
	// DeleteSecret removes a secret (ErrNotFound when missing), with its audit
	// event.
	DeleteSecret(ctx context.Context, name string, ev AuditEvent) error
	// GetSecret returns one secret with its ciphertext.
	GetSecret(ctx context.Context, name string) (Secret, error)
	// ListSecrets returns every secret, ordered by name.
	ListSecrets(ctx context.Context) ([]Secret, error)
	// AddAudit appends audit events (resolutions by runs).
	AddAudit(ctx context.Context, evs []AuditEvent) error
	// ListAudit returns audit events newest first. A limit of 0 means 100;
	// at most 1000 are returned.
	ListAudit(ctx context.Context, limit, offset int) ([]AuditEvent, error)
	// ListSecretKeys returns the records of the keys secrets were written
	// with, ordered by id.
	ListSecretKeys(ctx context.Context) ([]SecretKey, error)
	// AddSecretKey records a key (a zero CreatedAt is now). Recording an id
	// again with the same fingerprint changes nothing; with another
	// fingerprint it fails with ErrConflict.
	AddSecretKey(ctx context.Context, k SecretKey) error
	// DeleteSecretKey removes a key's record once no secret is written with
	// it: ErrConflict (and nothing removed) while one is, ErrNotFound when
	// there is no such record.
	DeleteSecretKey(ctx context.Context, id string) error

	// CreateUser adds a user; ErrExists when the id or email is taken
	// (emails compare regardless of case).
	CreateUser(ctx context.Context, u User) error
	// GetUser returns a user by id; ErrNotFound when missing.
	GetUser(ctx context.Context, id string) (User, error)
	// ListUsers returns every user, ordered by email compared regardless of
	// case (as emails are unique).
	ListUsers(ctx context.Context) ([]User, error)
	// CreateClient adds API credentials; ErrExists when the id is taken,
	// ErrNotFound when UserID is not "" and names no user.
	CreateClient(ctx context.Context, c Client) error
	// GetClient returns credentials by client id; ErrNotFound when missing.
	GetClient(ctx context.Context, id string) (Client, error)
	// ListClients returns every client, ordered by id.
	ListClients(ctx context.Context) ([]Client, error)
	// CreateToken stores an issued access token (its hash only); ErrExists
	// when the hash is taken, ErrNotFound when the client is missing.
	CreateToken(ctx context.Context, t Token) error
	// GetToken returns a token by the hash of its value; ErrNotFound when
	// missing. Expiry is the caller's to check.
	GetToken(ctx context.Context, hash []byte) (Token, error)
	// DeleteExpiredTokens removes tokens that expired before the given time
	// (ExpiresAt < before) and returns how many.
	DeleteExpiredTokens(ctx context.Context, before time.Time) (int, error)
	// DeleteClient removes a client and every access token issued to it in
	// one transaction; ErrNotFound when it is missing. Its tokens are
	// unknown to GetToken as soon as it returns.
	DeleteClient(ctx context.Context, id string) error
	// RevokeClientTokens removes every access token issued to a client and
	// returns how many; the client stays and may be issued new tokens.
	// ErrNotFound when the client is missing.
	RevokeClientTokens(ctx context.Context, clientID string) (int, error)
	// DeleteUser removes a user with every client that acts as them and
	// those clients' tokens, in one transaction; ErrNotFound when missing.
	// Runs and secrets the user created keep their CreatedBy.
	DeleteUser(ctx context.Context, id string) error

	// Fingerprints of secret values (fingerprints.go).
	FingerprintStore

	// Close releases the store.
	Close() error
}

// Roles of users.
const (
	RoleAdmin  = "Admin"
	RoleMember = "Member"
)

// User is a person who uses sluice through API credentials of their own.
type User struct {
	ID        string // "usr_" + 16 alphanumerics
	Email     string
	FirstName string
	LastName  string
	Role      string // Admin | Member
	Teams     []string
	CreatedAt time.Time
}

// Client is a set of API credentials (clientId, clientSecret). A client with
// a UserID acts as that user; one without is a machine actor with Scopes.
type Client struct {
	ID         string // the clientId
	Name       string
	SecretHash []byte // a hash of the clientSecret; the secret itself is never stored
	UserID     string // "" for a machine client
	Scopes     []string
	CreatedAt  time.Time
}

// Token is an issued bearer access token, kept only as a hash.
type Token struct {
	Hash      []byte
	ClientID  string
	CreatedAt time.Time
	ExpiresAt time.Time
}
