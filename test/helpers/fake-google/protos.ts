// Speech v1 and Text-to-Speech v1 as gRPC service definitions, loaded from the .proto files the
// client packages ship, so the fake speaks exactly the protocol the real clients were built from.
import { createRequire } from 'node:module'
import path from 'node:path'
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'

const require = createRequire(import.meta.url)

/** A package's build/protos folder, from its main module (build/src/index.js). */
const protosOf = (pkg: string) => path.join(path.dirname(require.resolve(pkg)), '..', 'protos')

export interface GoogleServices {
  speech: grpc.ServiceDefinition
  textToSpeech: grpc.ServiceDefinition
}

export function loadGoogleServices(): GoogleServices {
  const speechProtos = protosOf('@google-cloud/speech')
  const ttsProtos = protosOf('@google-cloud/text-to-speech')
  const definition = protoLoader.loadSync(
    ['google/cloud/speech/v1/cloud_speech.proto', 'google/cloud/texttospeech/v1/cloud_tts.proto'],
    {
      // google/api, google/rpc, google/longrunning and google/protobuf come with google-gax.
      includeDirs: [speechProtos, ttsProtos, protosOf('google-gax')],
      longs: String,
      enums: String,
      oneofs: true
    }
  )
  const service = (name: string) => {
    const found = definition[name]
    // Messages and enums carry a `format`; a service is a plain map of its methods.
    if (!found || 'format' in found) throw new Error(`${name} is not a service in the shipped protos`)
    return found as grpc.ServiceDefinition
  }
  return { speech: service('google.cloud.speech.v1.Speech'), textToSpeech: service('google.cloud.texttospeech.v1.TextToSpeech') }
}
