export * from "./gen/push/v1/push_pb.js";
export * from "./gen/types/v1/types_pb.js";
export * from "./gen/debuginfo/v1alpha1/debuginfo_pb.js";
