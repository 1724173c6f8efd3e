// The fake Google Cloud Speech and Text-to-Speech for tests, and the client options that reach it.
export { startFakeGoogle, type FakeCall, type FakeGoogle, type FakeGoogleOptions } from './server.js'
export { googleClientOptions } from './client-options.js'
export type { Behaviour, FakeMethod } from './behaviour.js'
export { FAKE_VOICES } from './voices.js'
