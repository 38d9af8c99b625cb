// A small stand-in for github.com/gogap/errors, used through a replace
// directive in the repository's go.mod: see README.md.
module github.com/gogap/errors

go 1.26.0
