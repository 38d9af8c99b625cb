// Command fczip packs a function binary into the zip layout FC's go1 runtime
// expects: the executable at the root of the archive under the handler name,
// with its execute bit kept. It exists so `make build` needs no zip tool.
//
//	fczip -o dist/queue-worker.zip dist/queue-worker/main
package main

import (
	"archive/zip"
	"compress/flate"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

func main() {
	out := flag.String("o", "", "zip file to write")
	flag.Parse()
	if *out == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: fczip -o OUT.zip FILE...")
		os.Exit(2)
	}
	if err := pack(*out, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "fczip:", err)
		os.Exit(1)
	}
}

func pack(out string, files []string) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	// archive/zip deflates at level 5; level 9 costs about a second more per
	// function and saves about 1 % (40 KB of queue-worker's zip), which
	// counts against issue 12's 4 MB goal.
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestCompression)
	})
	for _, path := range files {
		if err := add(zw, path); err != nil {
			_ = f.Close()
			return fmt.Errorf("add %s: %w", path, err)
		}
	}
	if err := zw.Close(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func add(zw *zip.Writer, path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	hdr, err := zip.FileInfoHeader(info)
	if err != nil {
		return err
	}
	hdr.Name = filepath.Base(path)
	hdr.Method = zip.Deflate
	hdr.SetMode(0o755) // FC runs the handler file directly
	w, err := zw.CreateHeader(hdr)
	if err != nil {
		return err
	}
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	_, err = io.Copy(w, src)
	return err
}
