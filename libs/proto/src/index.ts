export { PushRequestSchema, PusherService, RawProfileSeriesSchema, RawSampleSchema } from "./gen/push/v1/push_pb.js";
export type { PushRequest, RawProfileSeries } from "./gen/push/v1/push_pb.js";
export { LabelPairSchema } from "./gen/types/v1/types_pb.js";
export {
  DebuginfoService,
  FileMetadata_Type,
  ShouldInitiateUploadRequestSchema,
  ShouldInitiateUploadResponseSchema,
  UploadFinishedRequestSchema,
} from "./gen/debuginfo/v1alpha1/debuginfo_pb.js";
