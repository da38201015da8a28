//go:build !linux

package store

import bolt "go.etcd.io/bbolt"

// releaseEvery does nothing here: see release_linux.go.
func (db *DB) releaseEvery(*bolt.Tx) releaser { return releaser{} }

type releaser struct{}

func (releaser) tick() {}

// releaseMapped does nothing here: see release_linux.go.
func releaseMapped(*bolt.Tx) {}
