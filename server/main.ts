// afterburn-lsp: the language server (issue "Language server") is not built yet. Until then the
// entry point exists and says so, with a status an editor's client can report.
process.stderr.write("afterburn-lsp: the language server is not yet available in this version of Afterburner Studio\n");
process.exitCode = 69; // EX_UNAVAILABLE
