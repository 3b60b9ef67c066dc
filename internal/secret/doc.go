// Package secret is sluice's vault: organization secrets encrypted with
// AES-256-GCM under a key ring that lives outside the database, the service
// that creates, updates, deletes and lists them with an audit trail, key
// rotation, and resolution of the names a node's templates reference.
//
// A secret value never leaves this package except through Resolve (to the
// engine, which registers it with the run's redactor before use) and it is
// never placed in an error, a log line, an audit event or a stored field other
// than the ciphertext. Errors name secrets, keys, fields and line numbers only.
//
// # Keys
//
// The key ring comes from SLUICE_MASTER_KEY (base64 of 32 bytes; several
// keys separated by commas, the first one primary) or from a key file: JSON,
// mode 0600, holding every key with its id and creation time and naming the
// primary one. In the embedded default mode a missing key is generated into
// <data-dir>/master.key with a warning. See LoadKeyRing.
//
// # Rotation
//
// With a key file, Service.Rotate adds a new primary key to the file,
// re-encrypts every secret with it, then removes the old keys from the file.
// A server that still holds the old ring in memory keeps working: when it
// meets a key id it does not know it reloads the file once and retries.
//
// With SLUICE_MASTER_KEY there is no file to change, so rotation is done by
// the operator in three steps:
//
//  1. generate a key (head -c 32 /dev/urandom | base64) and set
//     SLUICE_MASTER_KEY="NEW,OLD" (new key first) on every process;
//  2. run `sluice keys rotate`: every secret is re-encrypted with NEW;
//  3. set SLUICE_MASTER_KEY="NEW" and restart.
//
// Rotate refuses to run on an environment key ring that holds a single key,
// and its result tells which old keys may now be dropped.
package secret
