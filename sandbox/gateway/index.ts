/** The e2e harness: a real OpenClaw gateway, offline, with one channel plugin installed from a directory. */
export * from "./ChildProcess.js"
export * from "./Gateway.js"
export * from "./GatewayConfig.js"
export * from "./HarnessError.js"
export * from "./IsolatedRoot.js"
export * from "./Node24.js"
export * from "./waitUntil.js"
