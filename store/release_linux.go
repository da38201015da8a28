package store

import (
	"syscall"
	"unsafe"

	bolt "go.etcd.io/bbolt"
)

// releaseEvery returns what a scan ticks once a record: every 32,768
// records that scans of db read (counted across scans, since an export
// reads a page of a thousand at a time), it releases what the process has
// mapped (releaseMapped), so scans hold some megabytes of the file, not
// all of it.
//
// Only the records a scan reads past its first shortScan count: a console's
// page of 50 events never releases, since releasing drops every page of
// the map, the pages other consoles are reading too, and each must then be
// mapped again (a page of the audit tab took twice as long).
func (db *DB) releaseEvery(tx *bolt.Tx) *releaser { return &releaser{db: db, tx: tx} }

type releaser struct {
	db *DB
	tx *bolt.Tx
	n  int
}

// tick counts a record; it is small enough to inline, so a short scan
// pays an increment per record.
func (r *releaser) tick() {
	if r.n++; r.n > shortScan {
		r.counted()
	}
}

func (r *releaser) counted() {
	if r.db.scanned.Add(1)&(1<<15-1) == 0 {
		releaseMapped(r.tx)
	}
}

// shortScan is how many records a scan reads before it counts as long.
const shortScan = 256

// releaseMapped hands the pages of the file that this process has read
// back to the kernel's page cache (madvise MADV_DONTNEED on bolt's
// read-only, shared map): they stay cached and are mapped again by the next
// read that needs them, but stop counting in the process's resident size.
// A pass over a million records would otherwise hold the whole file
// resident (a 1 GB file: ~1 GB RSS for audit verify). tx keeps the map in
// place while this runs.
func releaseMapped(tx *bolt.Tx) {
	info := tx.DB().Info()
	size := tx.Size()
	if info == nil || info.Data == 0 || size <= 0 {
		return
	}
	// The map's address, read as the pointer it is (bolt hands it out as a
	// uintptr).
	base := *(*unsafe.Pointer)(unsafe.Pointer(&info.Data))
	_ = syscall.Madvise(unsafe.Slice((*byte)(base), int(size)), syscall.MADV_DONTNEED)
}
