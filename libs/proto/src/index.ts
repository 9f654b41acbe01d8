export * from "./gen/push/v1/push_pb.js";
export * from "./gen/types/v1/types_pb.js";
