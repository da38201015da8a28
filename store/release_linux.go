package store

import (
	"syscall"
	"unsafe"

	bolt "go.etcd.io/bbolt"
)

// releaseEvery returns a function for a scan to call once a record: every
// 32,768 records that scans of db read (counted across scans, since an
// export reads a page of a thousand at a time), it releases what the
// process has mapped (releaseMapped), so scans hold some megabytes of the
// file, not all of it.
func (db *DB) releaseEvery(tx *bolt.Tx) func() {
	return func() {
		if db.scanned.Add(1)&(1<<15-1) == 0 {
			releaseMapped(tx)
		}
	}
}

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
