package cluster

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hashicorp/raft"

	aetherkv "github.com/aether-kv/aether-kv"
	"github.com/aether-kv/aether-kv/internal/vfs"
)

// maxApplyBatch is the most bytes of keys and values the FSM gathers into
// one store batch when raft hands it several entries at once.
const maxApplyBatch = 4 << 20

// fsm applies the raft log to an Aether store. Entries are blind writes
// (see encodeWrite), so applying a suffix of the log again after a
// restart is harmless: the store is opened with its own data, raft
// replays what follows the last snapshot, and the FSM never restores a
// snapshot at start-up unless a restore was interrupted.
type fsm struct {
	db      *aetherkv.DB
	opts    aetherkv.Options // the store's, to open snapshot copies
	reg     *registry
	log     *slog.Logger
	fatal   func(error) // the store failed a write: this node must stop
	raftDir string
	snaps   raft.SnapshotStore // to learn the index of a snapshot being restored

	lastIndex uint64 // the last log index applied; the FSM goroutine's (and Open's, before raft starts)
}

var (
	_ raft.FSM         = (*fsm)(nil)
	_ raft.BatchingFSM = (*fsm)(nil)
)

// Apply applies one entry.
func (f *fsm) Apply(l *raft.Log) any { return f.ApplyBatch([]*raft.Log{l})[0] }

// ApplyBatch applies entries in order, with as few store batches as their
// size allows. An entry's result is nil, or the error that kept it out of
// the store: an entry with a key or value over the limits is refused
// whole, the same way on every node configured alike.
func (f *fsm) ApplyBatch(logs []*raft.Log) []any {
	res := make([]any, len(logs))
	b := f.db.NewBatch()
	size := 0
	pending := []int{} // entries in b
	flush := func() {
		if b.Len() == 0 {
			pending = pending[:0]
			return
		}
		if err := f.db.Write(b); err != nil {
			err = fmt.Errorf("cluster: apply to the store: %w", err)
			for _, i := range pending {
				res[i] = err
			}
			f.fatal(err)
		}
		b.Reset()
		size = 0
		pending = pending[:0]
	}
	for i, l := range logs {
		f.lastIndex = max(f.lastIndex, l.Index)
		if l.Type != raft.LogCommand {
			continue
		}
		e, err := decodeEntry(l.Data)
		if err != nil {
			f.log.Error("raft log entry skipped", "index", l.Index, "err", err)
			res[i] = err
			continue
		}
		switch e.kind {
		case kindRegister:
			if err := f.reg.set(e.id, e.addr); err != nil {
				res[i] = err
			}
		case kindWrite:
			if err := f.check(e.ops); err != nil {
				res[i] = err
				continue
			}
			for _, op := range e.ops {
				switch {
				case op.Delete:
					b.Delete(op.Key)
				default:
					b.PutWithDeadline(op.Key, op.Value, op.Deadline)
				}
				size += len(op.Key) + len(op.Value)
			}
			pending = append(pending, i)
			if size >= maxApplyBatch {
				flush()
			}
		}
	}
	flush()
	return res
}

// check refuses operations the store would refuse, before any is added to
// a batch that other entries share.
func (f *fsm) check(ops []Op) error {
	for _, op := range ops {
		switch {
		case len(op.Key) == 0:
			return aetherkv.ErrKeyEmpty
		case len(op.Key) > f.opts.MaxKeySize:
			return fmt.Errorf("key of %d bytes, limit %d: %w", len(op.Key), f.opts.MaxKeySize, aetherkv.ErrKeyTooLarge)
		case len(op.Value) > f.opts.MaxValueSize:
			return fmt.Errorf("value of %d bytes, limit %d: %w", len(op.Value), f.opts.MaxValueSize, aetherkv.ErrValueTooLarge)
		}
	}
	return nil
}

// Snapshot syncs the store, so that raft may drop the log entries the
// snapshot covers, and takes a consistent copy of it (hard links and a
// copy of the active file) that Persist streams while writes go on.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	if err := f.db.Sync(); err != nil {
		return nil, fmt.Errorf("cluster: snapshot: sync the store: %w", err)
	}
	// The store holds the log up to lastIndex, durably: raft may now
	// drop those entries, and Open must not restore a snapshot they are
	// in (see Node.catchUp).
	if err := writeApplied(f.db.Dir(), f.lastIndex); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(f.raftDir, "snapshot-copy-")
	if err != nil {
		return nil, fmt.Errorf("cluster: snapshot: %w", err)
	}
	if _, err := f.db.Backup(filepath.Join(dir, "data")); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("cluster: snapshot: copy the store: %w", err)
	}
	return &fsmSnapshot{dir: dir, opts: f.opts, reg: f.reg.all()}, nil
}

// Restore replaces the store's contents with a snapshot's. A marker file
// says a restore is under way until the store is synced, so that a crash
// in the middle is finished at the next start-up (see Open).
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	marker := filepath.Join(f.raftDir, restoringName)
	if err := writeSynced(marker, []byte("a snapshot restore began; the store is incomplete until it ends\n")); err != nil {
		return err
	}
	if err := vfs.Default.SyncDir(f.raftDir); err != nil {
		return err
	}
	if err := f.clear(); err != nil {
		return err
	}
	reg, n, err := readSnapshot(rc, f.db)
	if err != nil {
		return err
	}
	if err := f.reg.replace(reg); err != nil {
		return err
	}
	if err := f.db.Sync(); err != nil {
		return fmt.Errorf("cluster: restore: sync the store: %w", err)
	}
	if err := os.Remove(marker); err != nil {
		return fmt.Errorf("cluster: restore: %w", err)
	}
	// Raft saves a snapshot before it restores it: the newest one is
	// this. writeApplied's directory sync makes the marker's removal
	// durable too; should the removal alone survive a crash, the older
	// applied index makes Open restore the snapshot again.
	list, err := f.snaps.List()
	if err != nil || len(list) == 0 {
		return fmt.Errorf("cluster: restore: the snapshot restored is not in the snapshot store (%v)", err)
	}
	f.lastIndex = list[0].Index
	if err := vfs.Default.SyncDir(f.raftDir); err != nil {
		return err
	}
	if err := writeApplied(f.db.Dir(), f.lastIndex); err != nil {
		return err
	}
	f.log.Info("store restored from a raft snapshot", "keys", n)
	return nil
}

// clear deletes every key of the store, in batches.
func (f *fsm) clear() error {
	b := f.db.NewBatch()
	for key, err := range f.db.Keys(nil) {
		if err != nil {
			return fmt.Errorf("cluster: restore: list the keys: %w", err)
		}
		b.Delete(key)
		if b.Len() == 1024 {
			if err := f.db.Write(b); err != nil {
				return fmt.Errorf("cluster: restore: clear the store: %w", err)
			}
			b.Reset()
		}
	}
	if err := f.db.Write(b); err != nil {
		return fmt.Errorf("cluster: restore: clear the store: %w", err)
	}
	return nil
}

// restoringName is the marker of a restore under way, in the raft
// directory.
const restoringName = "restoring"

// appliedName is the file, in the store's directory, of the log index up
// to which the store is known to hold the log durably: written when a
// snapshot is taken (after the store is synced) and when one is restored.
// It lives with the store's files, not in the raft directory, so that a
// store that lost its files lost it too, and Open restores the snapshot
// rather than replay only the log after it.
const appliedName = "store-applied"

// writeApplied records index in appliedName, atomically and durably.
func writeApplied(dir string, index uint64) error {
	tmp := filepath.Join(dir, appliedName+".tmp")
	if err := writeSynced(tmp, []byte(strconv.FormatUint(index, 10)+"\n")); err != nil {
		return fmt.Errorf("cluster: record the applied index: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, appliedName)); err != nil {
		return fmt.Errorf("cluster: record the applied index: %w", err)
	}
	return vfs.Default.SyncDir(dir)
}

// readApplied returns the index in appliedName, 0 if there is none.
func readApplied(dir string) (uint64, error) {
	b, err := os.ReadFile(filepath.Join(dir, appliedName))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("cluster: read the applied index: %w", err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("cluster: %s: %w", filepath.Join(dir, appliedName), err)
	}
	return n, nil
}

// writeSynced writes a small file and fsyncs it; its directory entry is
// the caller's to sync.
func writeSynced(name string, data []byte) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
