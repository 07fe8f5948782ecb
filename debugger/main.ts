// afterburn-dap: the Debug Adapter Protocol server over stdio (any DAP client; the VS Code
// extension starts it as an executable or runs AfterburnSession in-process).
import { DebugSession } from "@vscode/debugadapter";
import { AfterburnSession } from "./session.js";

// Whatever a guest or a client does, the adapter reports it and stays up (stderr is the log).
process.on("uncaughtException", (e) => process.stderr.write(`afterburn-dap: internal error: ${e.stack ?? e}\n`));
process.on("unhandledRejection", (e) => process.stderr.write(`afterburn-dap: internal error: ${(e as Error)?.stack ?? e}\n`));

DebugSession.run(AfterburnSession);
