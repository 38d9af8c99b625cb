package main

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestPack_KeepsTheHandlerExecutableAtTheRoot(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "sub", "main")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, []byte("#!/bin/true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "fn.zip")
	if err := pack(out, []string{bin}); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 || zr.File[0].Name != "main" || zr.File[0].Mode().Perm() != 0o755 {
		t.Fatalf("entries %v (mode %v): want one executable \"main\" at the root", zr.File[0].Name, zr.File[0].Mode())
	}
	rc, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, []byte("#!/bin/true\n")) {
		t.Fatalf("entry reads back as %q (%v), want the file's bytes", got, err)
	}
	if zr.File[0].Method != zip.Deflate {
		t.Errorf("method %d, want deflate", zr.File[0].Method)
	}
	if err := pack(out, []string{filepath.Join(dir, "missing")}); err == nil {
		t.Fatal("packing a missing file must fail")
	}
}
