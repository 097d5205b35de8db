# glassbox-viz tests (label "viz"): render panels headless under Xvfb + Mesa and check the PNGs and
# the --report JSON with viz_check. Run them with `ctest -L viz`.
#
# Each screenshot is a setup test (a fixture) and the checks on it are separate tests, so a failure
# names what is wrong: "the image is blank", "row 5 is not brighter than row 4", ...
# Bad input keeps the app alive: a missing directory exits 0 with a red error banner drawn (and a
# one-line "glassbox-viz: error: ..." on stderr); malformed metrics lines give a yellow warning
# banner while the rest of the curves still draw.
#
# GLASSBOX_VIZ_RUN_DIR=/path/to/run adds the same dashboard checks on a real training run.
if(NOT TARGET glassbox-viz)
  return()
endif()
# ---- the metrics.jsonl reader on its own (no display needed) ----
add_executable(test_viz_metrics ${CMAKE_CURRENT_SOURCE_DIR}/viz/test_viz_metrics.cpp
                                ${PROJECT_SOURCE_DIR}/visualizer/metrics.cpp $<TARGET_OBJECTS:doctest_main>)
target_include_directories(test_viz_metrics PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(test_viz_metrics PRIVATE doctest::doctest nlohmann_json::nlohmann_json)
add_test(NAME test_viz_metrics COMMAND test_viz_metrics)
set_tests_properties(test_viz_metrics PROPERTIES LABELS viz)
# The architecture view's layout: blocks and parameter counts from the config's switches.
add_executable(test_viz_layout ${CMAKE_CURRENT_SOURCE_DIR}/viz/test_viz_layout.cpp
                               ${PROJECT_SOURCE_DIR}/visualizer/model_layout.cpp $<TARGET_OBJECTS:doctest_main>)
target_include_directories(test_viz_layout PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(test_viz_layout PRIVATE llm doctest::doctest)
add_test(NAME test_viz_layout COMMAND test_viz_layout)
set_tests_properties(test_viz_layout PROPERTIES LABELS viz)
# The model probe on GPT-2 and Llama-style checkpoints (logit lens through the model's final norm).
add_executable(test_viz_probe ${CMAKE_CURRENT_SOURCE_DIR}/viz/test_viz_probe.cpp
                              ${PROJECT_SOURCE_DIR}/visualizer/probe.cpp $<TARGET_OBJECTS:doctest_main>)
target_include_directories(test_viz_probe PRIVATE ${PROJECT_SOURCE_DIR})
find_package(Threads REQUIRED)
target_link_libraries(test_viz_probe PRIVATE llm doctest::doctest Threads::Threads)
add_test(NAME test_viz_probe COMMAND test_viz_probe)
set_tests_properties(test_viz_probe PROPERTIES LABELS viz)
# Scheduled key presses (--press) for the kiosk tests.
add_executable(test_viz_input ${CMAKE_CURRENT_SOURCE_DIR}/viz/test_viz_input.cpp
                              ${PROJECT_SOURCE_DIR}/visualizer/scripted_input.cpp $<TARGET_OBJECTS:doctest_main>)
target_include_directories(test_viz_input PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(test_viz_input PRIVATE llm doctest::doctest)
add_test(NAME test_viz_input COMMAND test_viz_input)
set_tests_properties(test_viz_input PROPERTIES LABELS viz)

# ---- everything below renders under Xvfb ----
find_program(XVFB_RUN xvfb-run)
if(NOT XVFB_RUN)
  message(STATUS "glassbox-viz tests: off (no xvfb-run; apt install xvfb libgl1-mesa-dri)")
  return()
endif()
set(GLASSBOX_VIZ_RUN_DIR "" CACHE PATH "A real run directory for the glassbox-viz dashboard tests")

pkg_check_modules(VIZ_STB REQUIRED IMPORTED_TARGET stb)
add_executable(make_fake_run ${CMAKE_CURRENT_SOURCE_DIR}/viz/make_fake_run.cpp)
add_executable(viz_check ${CMAKE_CURRENT_SOURCE_DIR}/viz/viz_check.cpp)
target_link_libraries(viz_check PRIVATE PkgConfig::VIZ_STB nlohmann_json::nlohmann_json)

set(VIZ_OUT ${CMAKE_CURRENT_BINARY_DIR}/viz)
file(MAKE_DIRECTORY ${VIZ_OUT})
set(VIZ_XVFB ${XVFB_RUN} -a -s "-screen 0 1280x800x24")

# viz_test(NAME FIXTURES f... REQUIRES f... COMMAND ...): one ctest entry labelled viz.
function(viz_test name)
  cmake_parse_arguments(ARG "" "" "FIXTURES;REQUIRES;COMMAND" ${ARGN})
  add_test(NAME ${name} COMMAND ${ARG_COMMAND} WORKING_DIRECTORY ${VIZ_OUT})
  set_tests_properties(${name} PROPERTIES LABELS viz TIMEOUT 120)
  if(ARG_FIXTURES)
    set_tests_properties(${name} PROPERTIES FIXTURES_SETUP "${ARG_FIXTURES}")
  endif()
  if(ARG_REQUIRES)
    set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED "${ARG_REQUIRES}")
  endif()
endfunction()

# viz_render(NAME FIXTURE REQUIRES ARGS...): glassbox-viz ARGS --screenshot NAME.png --report NAME.json
# under Xvfb. Renders take the X server lock so parallel ctest does not race for display numbers.
function(viz_render name fixture requires)
  viz_test(${name} FIXTURES ${fixture} REQUIRES ${requires}
           COMMAND ${VIZ_XVFB} $<TARGET_FILE:glassbox-viz> ${ARGN}
                   --screenshot ${VIZ_OUT}/${name}.png --report ${VIZ_OUT}/${name}.json)
  set_tests_properties(${name} PROPERTIES RESOURCE_LOCK xvfb)
endfunction()

# ---- inputs: a generated run, and one with a malformed line and a line cut mid-write ----
viz_test(viz_make_run FIXTURES viz_run COMMAND make_fake_run ${VIZ_OUT}/run)
viz_test(viz_make_bad_run FIXTURES viz_bad_run COMMAND make_fake_run ${VIZ_OUT}/bad_run --malformed)
viz_test(viz_make_hellaswag_run FIXTURES viz_hellaswag_run
         COMMAND make_fake_run ${VIZ_OUT}/hellaswag_run --hellaswag)

# ---- the dashboard on a run directory ----
# These renders pin the inferno map: its lightness spans more range than viridis (the default, which
# the HiDPI and HellaSwag renders below check), so the row-contrast threshold keeps its margin.
viz_render(viz_dashboard viz_dashboard_png viz_run ${VIZ_OUT}/run --panel dashboard --colormap inferno)
viz_test(viz_dashboard_not_blank REQUIRES viz_dashboard_png
         COMMAND viz_check png ${VIZ_OUT}/viz_dashboard.png)
viz_test(viz_dashboard_report REQUIRES viz_dashboard_png
         COMMAND viz_check report ${VIZ_OUT}/viz_dashboard.json --panel dashboard --no-error
                 --region dashboard.chart.loss --region dashboard.chart.lr
                 --region dashboard.chart.grad_norm --region dashboard.chart.tokens_per_s
                 --region dashboard.heat.layer_grad_norm --region dashboard.heat.layer_update_ratio)
# The generated per-layer values rise with the layer index: deeper rows must be drawn brighter.
viz_test(viz_heat_strip_grad_norm_pixels REQUIRES viz_dashboard_png
         COMMAND viz_check rows-increase ${VIZ_OUT}/viz_dashboard.png ${VIZ_OUT}/viz_dashboard.json
                 dashboard.heat.layer_grad_norm)
viz_test(viz_heat_strip_update_ratio_pixels REQUIRES viz_dashboard_png
         COMMAND viz_check rows-increase ${VIZ_OUT}/viz_dashboard.png ${VIZ_OUT}/viz_dashboard.json
                 dashboard.heat.layer_update_ratio)

# ---- a run that measures HellaSwag: a fourth row with its chart, the other charts still drawn ----
viz_render(viz_dashboard_hellaswag viz_hellaswag_png viz_hellaswag_run ${VIZ_OUT}/hellaswag_run --panel dashboard)
viz_test(viz_dashboard_hellaswag_report REQUIRES viz_hellaswag_png
         COMMAND viz_check report ${VIZ_OUT}/viz_dashboard_hellaswag.json --panel dashboard --no-error
                 --region dashboard.chart.hellaswag --region dashboard.chart.loss
                 --region dashboard.heat.layer_grad_norm)
viz_test(viz_dashboard_hellaswag_pixels REQUIRES viz_hellaswag_png
         COMMAND viz_check rows-increase ${VIZ_OUT}/viz_dashboard_hellaswag.png
                 ${VIZ_OUT}/viz_dashboard_hellaswag.json dashboard.heat.layer_grad_norm)

# ---- HiDPI (UI scale 2 on a 2560x1600 framebuffer) and a small window: same checks ----
viz_test(viz_dashboard_hidpi FIXTURES viz_hidpi_png REQUIRES viz_run
         COMMAND ${XVFB_RUN} -a -s "-screen 0 2560x1600x24" $<TARGET_FILE:glassbox-viz> ${VIZ_OUT}/run
                 --panel dashboard --width 2560 --height 1600 --scale 2
                 --screenshot ${VIZ_OUT}/viz_dashboard_hidpi.png --report ${VIZ_OUT}/viz_dashboard_hidpi.json)
set_tests_properties(viz_dashboard_hidpi PROPERTIES RESOURCE_LOCK xvfb)
viz_test(viz_dashboard_hidpi_pixels REQUIRES viz_hidpi_png
         COMMAND viz_check rows-increase ${VIZ_OUT}/viz_dashboard_hidpi.png ${VIZ_OUT}/viz_dashboard_hidpi.json
                 dashboard.heat.layer_grad_norm)
viz_render(viz_dashboard_small viz_small_png viz_run ${VIZ_OUT}/run --panel dashboard --width 900 --height 640
           --colormap inferno)
viz_test(viz_dashboard_small_pixels REQUIRES viz_small_png
         COMMAND viz_check rows-increase ${VIZ_OUT}/viz_dashboard_small.png ${VIZ_OUT}/viz_dashboard_small.json
                 dashboard.heat.layer_update_ratio)

# ---- every panel renders on a run directory with real (tiny, random-weight) checkpoints ----
add_executable(make_tiny_checkpoint ${CMAKE_CURRENT_SOURCE_DIR}/viz/make_tiny_checkpoint.cpp)
target_link_libraries(make_tiny_checkpoint PRIVATE llm)
viz_test(viz_make_checkpoints FIXTURES viz_ckpt COMMAND make_tiny_checkpoint ${VIZ_OUT}/run ${VIZ_OUT}/bad)
set_tests_properties(viz_make_checkpoints PROPERTIES DEPENDS viz_make_run)
foreach(panel attention predictions timeline)
  viz_render(viz_panel_${panel} viz_panel_${panel}_png "viz_run;viz_ckpt" ${VIZ_OUT}/run --panel ${panel}
             --prompt "To be, or not to be")
  viz_test(viz_panel_${panel}_no_error REQUIRES viz_panel_${panel}_png
           COMMAND viz_check report ${VIZ_OUT}/viz_panel_${panel}.json --no-error)
  viz_test(viz_panel_${panel}_check REQUIRES viz_panel_${panel}_png
           COMMAND viz_check report ${VIZ_OUT}/viz_panel_${panel}.json --panel ${panel})
  viz_test(viz_panel_${panel}_not_blank REQUIRES viz_panel_${panel}_png
           COMMAND viz_check png ${VIZ_OUT}/viz_panel_${panel}.png)
endforeach()

viz_test(viz_panel_attention_maps REQUIRES viz_panel_attention_png
         COMMAND viz_check report ${VIZ_OUT}/viz_panel_attention.json --region attention.grid
                 --region attention.zoom)

# ---- the attention heatmap's pixels follow a known attention matrix ----
viz_render(viz_attention_synthetic viz_attention_synthetic_png "" --synthetic-attention --panel attention
           --prompt "one two three four five six seven eight")
viz_test(viz_attention_synthetic_pixels REQUIRES viz_attention_synthetic_png
         COMMAND viz_check attention-synthetic ${VIZ_OUT}/viz_attention_synthetic.png
                 ${VIZ_OUT}/viz_attention_synthetic.json attention.zoom)

# ---- a sweep directory (`glassbox sweep`): its runs' losses overlaid, train and val ----
viz_test(viz_make_sweep_a FIXTURES viz_sweep COMMAND make_fake_run "${VIZ_OUT}/sweep/lr=1e-3")
viz_test(viz_make_sweep_b FIXTURES viz_sweep COMMAND make_fake_run "${VIZ_OUT}/sweep/lr=3e-3")
viz_render(viz_sweep viz_sweep_png viz_sweep ${VIZ_OUT}/sweep --panel dashboard)
viz_test(viz_sweep_report REQUIRES viz_sweep_png
         COMMAND viz_check report ${VIZ_OUT}/viz_sweep.json --panel dashboard --no-error
                 --region sweep.chart.train_loss --region sweep.chart.val_loss)
viz_test(viz_sweep_not_blank REQUIRES viz_sweep_png COMMAND viz_check png ${VIZ_OUT}/viz_sweep.png)

# ---- bad input: an error or warning banner, never a crash ----
foreach(bad corrupt_config corrupt_weights)
  viz_render(viz_${bad} viz_${bad}_png viz_ckpt ${VIZ_OUT}/bad/${bad} --panel attention)
  viz_test(viz_${bad}_error REQUIRES viz_${bad}_png
           COMMAND viz_check report ${VIZ_OUT}/viz_${bad}.json --error ${bad} --region banner.error)
  viz_test(viz_${bad}_banner_red REQUIRES viz_${bad}_png
           COMMAND viz_check colour ${VIZ_OUT}/viz_${bad}.png ${VIZ_OUT}/viz_${bad}.json banner.error red)
endforeach()
viz_render(viz_missing_dir viz_missing_png "" ${VIZ_OUT}/no/such/run --panel dashboard)
viz_test(viz_missing_dir_error REQUIRES viz_missing_png
         COMMAND viz_check report ${VIZ_OUT}/viz_missing_dir.json --error "no such file or directory"
                 --region banner.error)
viz_test(viz_missing_dir_banner_red REQUIRES viz_missing_png
         COMMAND viz_check colour ${VIZ_OUT}/viz_missing_dir.png ${VIZ_OUT}/viz_missing_dir.json
                 banner.error red)

viz_render(viz_malformed_metrics viz_malformed_png viz_bad_run ${VIZ_OUT}/bad_run --panel dashboard)
viz_test(viz_malformed_metrics_warning REQUIRES viz_malformed_png
         COMMAND viz_check report ${VIZ_OUT}/viz_malformed_metrics.json --no-error
                 --warning "1 malformed line" --region banner.warning --region dashboard.chart.loss)
viz_test(viz_malformed_metrics_banner REQUIRES viz_malformed_png
         COMMAND viz_check colour ${VIZ_OUT}/viz_malformed_metrics.png ${VIZ_OUT}/viz_malformed_metrics.json
                 banner.warning yellow)
viz_test(viz_malformed_metrics_still_draws REQUIRES viz_malformed_png
         COMMAND viz_check rows-increase ${VIZ_OUT}/viz_malformed_metrics.png
                 ${VIZ_OUT}/viz_malformed_metrics.json dashboard.heat.layer_grad_norm)

# ---- optional: a real training run ----
if(GLASSBOX_VIZ_RUN_DIR)
  viz_render(viz_real_run viz_real_png "" ${GLASSBOX_VIZ_RUN_DIR} --panel dashboard)
  viz_test(viz_real_run_not_blank REQUIRES viz_real_png COMMAND viz_check png ${VIZ_OUT}/viz_real_run.png)
  viz_test(viz_real_run_report REQUIRES viz_real_png
           COMMAND viz_check report ${VIZ_OUT}/viz_real_run.json --panel dashboard --no-error
                   --region dashboard.chart.loss)
endif()


# ---- story mode, the architecture view and kiosk mode on the tiny checkpoints ----
# Story mode at several steps (the tokens, layer 1's attention arcs, the chances as bars): each
# screenshot not blank and its step's picture drawn. The tiny model has 3 layers, so the chances are
# step 3 + 2*3 + 1 = 10.
foreach(story_case "1;story.tokens" "3;story.arcs" "4;story.mlp" "10;story.bars")
  list(GET story_case 0 step)
  list(GET story_case 1 region)
  viz_render(viz_story_${step} viz_story_${step}_png "viz_run;viz_ckpt" ${VIZ_OUT}/run/checkpoint --panel story
             --story-step ${step} --prompt "To be, or not to be")
  viz_test(viz_story_${step}_report REQUIRES viz_story_${step}_png
           COMMAND viz_check report ${VIZ_OUT}/viz_story_${step}.json --panel story --no-error --region ${region})
  viz_test(viz_story_${step}_not_blank REQUIRES viz_story_${step}_png
           COMMAND viz_check png ${VIZ_OUT}/viz_story_${step}.png)
endforeach()
viz_render(viz_architecture viz_architecture_png "viz_run;viz_ckpt" ${VIZ_OUT}/run/checkpoint --panel architecture)
viz_test(viz_architecture_report REQUIRES viz_architecture_png
         COMMAND viz_check report ${VIZ_OUT}/viz_architecture.json --panel architecture --no-error
                 --region architecture.blocks --region architecture.layers --region architecture.attention.0
                 --region architecture.attention.2 --region architecture.position_embedding
                 --region architecture.norm.layernorm --region architecture.mlp.gelu
                 --no-region architecture.attention.gqa)
viz_test(viz_architecture_not_blank REQUIRES viz_architecture_png
         COMMAND viz_check png ${VIZ_OUT}/viz_architecture.png)
# Kiosk mode, idle from the start: the attract loop plays the story with no tabs and no path box.
viz_render(viz_kiosk viz_kiosk_png "viz_run;viz_ckpt" ${VIZ_OUT}/run/checkpoint --kiosk --idle-seconds 0
           --story-step 1 --presets ${PROJECT_SOURCE_DIR}/visualizer/presets.txt)
viz_test(viz_kiosk_report REQUIRES viz_kiosk_png
         COMMAND viz_check report ${VIZ_OUT}/viz_kiosk.json --panel story --no-error --region story.tokens)
viz_test(viz_kiosk_not_blank REQUIRES viz_kiosk_png COMMAND viz_check png ${VIZ_OUT}/viz_kiosk.png)

# An unreadable presets file: one line naming the flag and the file, before any window opens.
add_test(NAME viz_bad_presets COMMAND glassbox-viz --presets ${VIZ_OUT}/no_such_presets.txt)
set_tests_properties(viz_bad_presets PROPERTIES LABELS viz
                     PASS_REGULAR_EXPRESSION "error: --presets .*no_such_presets.txt: cannot read the file")

# Story mode's chances equal `glassbox sample --top-probs` (and, with PyTorch, the reference model's)
# along a greedy continuation.
viz_test(viz_story_numbers REQUIRES "viz_run;viz_ckpt"
         COMMAND ${GLASSBOX_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/viz/story_numbers.py $<TARGET_FILE:glassbox>
                 $<TARGET_FILE:glassbox-viz> ${VIZ_OUT}/run/checkpoint ${VIZ_OUT})
set_tests_properties(viz_story_numbers PROPERTIES RESOURCE_LOCK xvfb)

# ---- scripts/demo.sh end to end: a few training steps, the live dashboard, then story mode ----
# Label "demo" (not "viz"): its time is mostly the trainer's final evaluation on the whole val split.
# Skipped (exit 77) when data/cache/tinyshakespeare is absent (data/fetch.sh tinyshakespeare).
add_test(NAME viz_demo_script
         COMMAND bash -c "[ -f data/cache/tinyshakespeare/input.txt ] || exit 77; exec \"$@\"" demo
                 ${VIZ_XVFB} ${PROJECT_SOURCE_DIR}/scripts/demo.sh --max-steps 3 --run-dir ${VIZ_OUT}/demo_run
                 --build-dir ${PROJECT_BINARY_DIR} --screenshot-dir ${VIZ_OUT}/demo
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(viz_demo_script PROPERTIES LABELS demo TIMEOUT 600 SKIP_RETURN_CODE 77
                                                RESOURCE_LOCK xvfb FIXTURES_SETUP viz_demo_png)
add_test(NAME viz_demo_live COMMAND viz_check report ${VIZ_OUT}/demo/demo_live.json --panel dashboard --no-error
                                    --region dashboard.chart.loss)
add_test(NAME viz_demo_story COMMAND viz_check report ${VIZ_OUT}/demo/demo_story.json --panel story --no-error
                                     --region story.arcs)
add_test(NAME viz_demo_story_not_blank COMMAND viz_check png ${VIZ_OUT}/demo/demo_story.png)
set_tests_properties(viz_demo_live viz_demo_story viz_demo_story_not_blank PROPERTIES
                     LABELS demo FIXTURES_REQUIRED viz_demo_png)

# A click on layer 2's attention block (its centre, from the architecture view's report: 380.5 + 290.5
# / 2, 252 + 59 / 2 at 1280 x 800) opens the attention tab with layer 2 (index 1) shown large. The
# press waits for the laid-out view (ScriptedClick in visualizer/app.cpp).
viz_render(viz_architecture_click viz_architecture_click_png "viz_run;viz_ckpt" ${VIZ_OUT}/run/checkpoint
           --panel architecture --hover 525 281 --click)
viz_test(viz_architecture_click_opens_attention REQUIRES viz_architecture_click_png
         COMMAND viz_check report ${VIZ_OUT}/viz_architecture_click.json --panel attention --no-error
                 --region attention.zoom.layer1)

# ---- a Llama-style checkpoint: RMSNorm, RoPE, SwiGLU, 4 query heads over 2 key/value heads ----
# make_tiny_checkpoint --llama trains it for 80 steps on a passage of Hamlet (under a second). The
# attention grid brackets each key/value group; the architecture view draws RMSNorm, no position
# embedding, the SwiGLU MLP and GQA; story mode's chances match `glassbox sample` and the
# PyTorch reference (which implements the same switches).
viz_test(viz_make_llama FIXTURES viz_llama COMMAND make_tiny_checkpoint --llama ${VIZ_OUT}/llama)
set_tests_properties(viz_make_llama PROPERTIES ENVIRONMENT OMP_NUM_THREADS=1)  # tiny matmuls
viz_render(viz_llama_attention viz_llama_attention_png viz_llama ${VIZ_OUT}/llama --panel attention
           --prompt "To be, or not to be")
viz_test(viz_llama_attention_report REQUIRES viz_llama_attention_png
         COMMAND viz_check report ${VIZ_OUT}/viz_llama_attention.json --panel attention --no-error
                 --region attention.grid --region attention.zoom --region attention.kv_group.0
                 --region attention.kv_group.1 --no-region attention.kv_group.2)
viz_test(viz_llama_attention_not_blank REQUIRES viz_llama_attention_png
         COMMAND viz_check png ${VIZ_OUT}/viz_llama_attention.png)
viz_render(viz_llama_architecture viz_llama_architecture_png viz_llama ${VIZ_OUT}/llama --panel architecture
           --prompt "To be, or not to be")
viz_test(viz_llama_architecture_report REQUIRES viz_llama_architecture_png
         COMMAND viz_check report ${VIZ_OUT}/viz_llama_architecture.json --panel architecture --no-error
                 --region architecture.blocks --region architecture.attention.2
                 --region architecture.norm.rmsnorm --region architecture.mlp.swiglu
                 --region architecture.attention.gqa --no-region architecture.position_embedding
                 --no-region architecture.norm.layernorm --no-region architecture.mlp.gelu)
viz_test(viz_llama_architecture_not_blank REQUIRES viz_llama_architecture_png
         COMMAND viz_check png ${VIZ_OUT}/viz_llama_architecture.png)
viz_render(viz_llama_predictions viz_llama_predictions_png viz_llama ${VIZ_OUT}/llama --panel predictions
           --prompt "To be, or not to be")
viz_test(viz_llama_predictions_report REQUIRES viz_llama_predictions_png
         COMMAND viz_check report ${VIZ_OUT}/viz_llama_predictions.json --panel predictions --no-error)
foreach(story_case "3;story.arcs" "10;story.bars")
  list(GET story_case 0 step)
  list(GET story_case 1 region)
  viz_render(viz_llama_story_${step} viz_llama_story_${step}_png viz_llama ${VIZ_OUT}/llama --panel story
             --story-step ${step} --prompt "To be, or not to be")
  viz_test(viz_llama_story_${step}_report REQUIRES viz_llama_story_${step}_png
           COMMAND viz_check report ${VIZ_OUT}/viz_llama_story_${step}.json --panel story --no-error
                   --region ${region})
  viz_test(viz_llama_story_${step}_not_blank REQUIRES viz_llama_story_${step}_png
           COMMAND viz_check png ${VIZ_OUT}/viz_llama_story_${step}.png)
endforeach()
viz_test(viz_llama_story_numbers REQUIRES viz_llama
         COMMAND ${GLASSBOX_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/viz/story_numbers.py $<TARGET_FILE:glassbox>
                 $<TARGET_FILE:glassbox-viz> ${VIZ_OUT}/llama ${VIZ_OUT}/llama_story 1)
# One greedy step here (one render): the GPT-2 test above walks three.
set_tests_properties(viz_llama_story_numbers PROPERTIES RESOURCE_LOCK xvfb)

# ---- kiosk mode under scripted keys (--press KEYS@SECONDS, --seconds N): a real window, no
# screenshot. glassbox-viz prints each press and what the kiosk does with it, one line each. ----
# viz_kiosk_test(NAME PASS_REGEX FAIL_REGEX ARGS...)
function(viz_kiosk_test name pass fail)
  viz_test(${name} REQUIRES "viz_run;viz_ckpt"
           COMMAND ${VIZ_XVFB} $<TARGET_FILE:glassbox-viz> ${VIZ_OUT}/run/checkpoint --kiosk ${ARGN})
  set_tests_properties(${name} PROPERTIES RESOURCE_LOCK xvfb PASS_REGULAR_EXPRESSION "${pass}"
                                          FAIL_REGULAR_EXPRESSION "${fail}")
endfunction()
# The quit chord ends the kiosk at once, long before --seconds would.
viz_kiosk_test(viz_kiosk_quit_chord "press ctrl\\+shift\\+q\n[^\n]*kiosk: quit \\(ctrl\\+shift\\+q\\)"
               "exit after --seconds" --press ctrl+shift+q@0.5 --seconds 20)
# Esc, Alt+F4 (the window manager's close request) and Ctrl+Q leave it running until --seconds.
viz_kiosk_test(viz_kiosk_other_keys
               "press esc.*press alt\\+f4\n[^\n]*kiosk: close request ignored.*press ctrl\\+q.*exit after --seconds 2"
               "kiosk: quit" --press esc@0.4 --press alt+f4@0.8 --press ctrl+q@1.2 --seconds 2)
# After --idle-seconds without input the attract loop plays; a key press stops it, and the exit
# comes before another idle period would start it again (a second of slack each way for slow frames).
viz_kiosk_test(viz_kiosk_attract_loop
               "attract loop plays \\(idle\\).*press space\n[^\n]*attract loop stops \\(input\\).*exit after --seconds 3.5: kiosk, story step [0-9]+, attract loop stopped"
               "kiosk: quit" --idle-seconds 1.5 --press space@2.5 --seconds 3.5)
