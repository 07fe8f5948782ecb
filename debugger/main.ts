// afterburn-dap: the Debug Adapter Protocol server over stdio (any DAP client; the VS Code
// extension starts it as an executable or runs AfterburnSession in-process).
import { DebugSession } from "@vscode/debugadapter";
import { AfterburnSession } from "./session.js";

DebugSession.run(AfterburnSession);
