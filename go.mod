module github.com/trifirma/trifirma

go 1.26
