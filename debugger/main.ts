// afterburn-dap: the debug adapter (issue "Debug adapter") is not built yet. Until then the
// entry point exists and says so.
process.stderr.write("afterburn-dap: the debug adapter is not yet available in this version of Afterburner Studio\n");
process.exitCode = 69; // EX_UNAVAILABLE
