// A fake Google Cloud Speech-to-Text v1 and Text-to-Speech v1 on loopback: a plaintext gRPC server
// from the shipped protos, answering with real audio and transcripts, scripted and recorded per test.
import * as grpc from '@grpc/grpc-js'
import { commandGrammar, type Grammar } from '../audio.js'
import { createScript, invalidArgument, RpcStatusError, type Behaviour, type FakeMethod } from './behaviour.js'
import { loadGoogleServices } from './protos.js'
import { duration, RECOGNIZE_LIMIT, results, STREAM_LIMIT, transcribe, type RecognitionConfig } from './speech.js'
import { synthesize, voices, type SynthesizeRequest } from './text-to-speech.js'

export interface FakeCall {
  method: FakeMethod
  /** The decoded request; for StreamingRecognize, its first message (the one with the config). */
  request: any
  metadata: Record<string, grpc.MetadataValue>
  /** The audio StreamingRecognize received after the config, chunk by chunk. */
  audioChunks: Buffer[]
  /** The status the fake answered with; unset while the call is open (and for ever when it hangs). */
  code?: grpc.status
}

export interface FakeGoogle {
  /** `http://127.0.0.1:<port>`, as GOOGLE_SPEECH_ENDPOINT / GOOGLE_TTS_ENDPOINT take it. */
  endpoint: string
  port: number
  /** Every call, in the order they arrived. */
  calls: FakeCall[]
  /**
   * How `method` answers from now on (`ok` until scripted). A function decides call by call (its
   * argument counts the method's calls from 1), for mixes such as a benchmark's 20% UNAVAILABLE.
   */
  script(method: FakeMethod, behaviour: Behaviour | ((callNumber: number) => Behaviour)): void
  /** Stops the server, cancelling calls still open. */
  close(): Promise<void>
}

export interface FakeGoogleOptions {
  /** What Recognize and StreamingRecognize can hear: Helix's voice commands by default. */
  grammar?: Grammar
  port?: number
}

interface StreamingRequest {
  streamingConfig?: { config?: RecognitionConfig; singleUtterance?: boolean } | null
  audioContent?: Buffer
}

const asStatus = (err: unknown) =>
  err instanceof RpcStatusError ? { code: err.code, details: err.message } : { code: grpc.status.INTERNAL, details: `fake google: ${(err as Error).message}` }

/** Google bills recognition by the started second. */
const billed = (ms: number) => duration(Math.ceil(ms / 1000) * 1000)

export async function startFakeGoogle(options: FakeGoogleOptions = {}): Promise<FakeGoogle> {
  const grammar = options.grammar ?? await commandGrammar()
  const script = createScript()
  const calls: FakeCall[] = []
  const services = loadGoogleServices()

  const record = (method: FakeMethod, request: unknown, metadata: grpc.Metadata): FakeCall => {
    const call: FakeCall = { method, request, metadata: metadata.getMap(), audioChunks: [] }
    calls.push(call)
    return call
  }

  /** A unary method: recorded, then answered as scripted or by `answer`. */
  function unary<Req, Res>(method: FakeMethod, answer: (request: Req) => Res | Promise<Res>): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const recorded = record(method, call.request, call.metadata)
      const decision = script.next(method)
      if (decision.kind === 'hang') return
      const reply = (err: unknown, response?: Res) => {
        const status = err ? asStatus(err) : { code: grpc.status.OK, details: 'OK' }
        recorded.code = status.code
        if (err) callback(status)
        else callback(null, response)
      }
      if (decision.kind === 'fail') return reply(new RpcStatusError(decision.code, decision.message))
      Promise.resolve().then(() => answer(call.request)).then((response) => reply(null, response), reply)
    }
  }

  /** Answers once the client half-closes: one final result (Google's interim results are not faked). */
  const streamingRecognize: grpc.handleBidiStreamingCall<StreamingRequest, unknown> = (call) => {
    let recorded: FakeCall | undefined
    let state: 'open' | 'hanging' | 'answered' = 'open'
    const fail = (err: unknown) => {
      if (state === 'answered' || call.cancelled) return
      state = 'answered'
      const status = asStatus(err)
      recorded!.code = status.code
      call.emit('error', status)
    }
    call.on('data', (message: StreamingRequest) => {
      if (state !== 'open') return
      if (!recorded) {
        recorded = record('StreamingRecognize', message, call.metadata)
        const decision = script.next('StreamingRecognize')
        if (decision.kind === 'hang') state = 'hanging'
        else if (decision.kind === 'fail') fail(new RpcStatusError(decision.code, decision.message))
        else if (!message.streamingConfig?.config) fail(invalidArgument('Malformed request: the first message must carry streaming_config.'))
        return
      }
      if (message.streamingConfig) return fail(invalidArgument('Malformed request: streaming_config may only be in the first message.'))
      if (message.audioContent?.length) recorded.audioChunks.push(message.audioContent)
    })
    call.on('end', () => {
      if (!recorded) recorded = record('StreamingRecognize', undefined, call.metadata)
      if (state !== 'open') return
      const streaming = recorded.request?.streamingConfig as NonNullable<StreamingRequest['streamingConfig']> | undefined
      if (!streaming?.config) return fail(invalidArgument('Malformed request: the stream ended before streaming_config.'))
      transcribe(streaming.config, Buffer.concat(recorded.audioChunks), grammar, STREAM_LIMIT).then((heard) => {
        if (state !== 'open' || call.cancelled) return
        if (streaming.singleUtterance) call.write({ speechEventType: 'END_OF_SINGLE_UTTERANCE' })
        const final = results(heard, streaming.config!.languageCode!, { isFinal: true, stability: 0 })
        // Silence: Google closes the stream without a result.
        if (final.length > 0) call.write({ results: final, totalBilledTime: billed(heard.durationMs) })
        state = 'answered'
        recorded!.code = grpc.status.OK
        call.end()
      }, fail)
    })
  }

  // Methods left out (LongRunningRecognize, StreamingSynthesize) answer UNIMPLEMENTED.
  const server = new grpc.Server()
  server.addService(services.speech, {
    Recognize: unary('Recognize', async (request: { config?: RecognitionConfig; audio?: { content?: Buffer; uri?: string } }) => {
      if (request.audio?.uri) throw invalidArgument('The fake reads audio.content only, not audio.uri.')
      const heard = await transcribe(request.config, request.audio?.content ?? Buffer.alloc(0), grammar, RECOGNIZE_LIMIT)
      return { results: results(heard, request.config!.languageCode!), totalBilledTime: billed(heard.durationMs) }
    }),
    StreamingRecognize: streamingRecognize
  })
  server.addService(services.textToSpeech, {
    SynthesizeSpeech: unary('SynthesizeSpeech', (request: SynthesizeRequest) => synthesize(request)),
    ListVoices: unary('ListVoices', (request: { languageCode?: string }) => voices(request))
  })

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${options.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))))

  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    calls,
    script: (method, behaviour) => script.set(method, behaviour),
    async close() {
      server.forceShutdown()
    }
  }
}
