#pragma once
// defines: llm::reconcile_resume, what `glassbox train --resume` may change of a saved run.
//
// A resumed run continues bit for bit only if it trains with the settings that produced the
// checkpoint. The command line given with --resume is therefore compared, field by field, with the
// config saved in train_state.json:
//   - settings that leave the trajectory (weights, moments, data order, schedule) unchanged are
//     accepted and reported: device, ranks, ZeRO stage, communication, the log / eval / checkpoint
//     / snapshot / HellaSwag intervals, HellaSwag data, --out-dir and --init-from (the checkpoint's
//     weights win), and micro-batch and grad accumulation as long as the global batch
//     (ranks x batch_size x grad_accum) stays equal;
//   - --extend with a larger --max-steps continues a run past its end: the learning rate follows
//   the
//     saved schedule (its decay ends where it ended) and stays at --min-lr after it;
//   - any other change (model, data, sampling, seed, learning rate, schedule, AdamW settings) is
//     refused, naming the setting, its saved and its new value, unless the setting is listed in
//     --resume-override, in which case it is accepted and reported as such.
// Every accepted change is also appended to RUN/resumes.jsonl, one JSON line per resume.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "llm/train/train_checkpoint.hpp"

namespace llm {

struct ResumePlan {
  TrainConfig config;                 // the settings to train with
  std::vector<std::string> messages;  // one line per accepted change, for the console
  nlohmann::json record;              // {"step", "world_size", "changes": [{key, from, to, why}]}
};

// `requested` is the command line's config (with resume, extend and resume_override set), `saved`
// the checkpoint's state, `world` the number of ranks now. Throws llm::Error naming `state_file`
// and the setting when a change is refused or the run cannot go on (finished, uneven global batch).
ResumePlan reconcile_resume(const TrainConfig& requested, const TrainState& saved, int world,
                            const std::string& state_file);

}  // namespace llm
