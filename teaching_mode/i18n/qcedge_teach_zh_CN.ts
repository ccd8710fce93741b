<?xml version='1.0' encoding='utf-8'?>
<TS version="2.1" language="zh_CN">
<context>
    <name>BoxSync</name>
    <message>
        <source>Open a frame first (Ctrl+O)</source>
        <translation>请先打开画面 (Ctrl+O)</translation>
    </message>
    <message>
        <source>Add anchor</source>
        <translation>添加锚点</translation>
    </message>
    <message>
        <source>Add table</source>
        <translation>添加表格</translation>
    </message>
    <message>
        <source>Add field</source>
        <translation>添加字段</translation>
    </message>
    <message>
        <source>Move box</source>
        <translation>移动框</translation>
    </message>
    <message>
        <source>Resize box</source>
        <translation>调整框大小</translation>
    </message>
    <message>
        <source>Delete box</source>
        <translation>删除框</translation>
    </message>
</context>
<context>
    <name>ChecksEditor</name>
    <message>
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <source>Check</source>
        <translation>校验</translation>
    </message>
    <message>
        <source>Add a check across fields (a sum, a date not in the future, a comparison)</source>
        <translation>添加跨字段校验（求和、日期不晚于现在、比较）</translation>
    </message>
    <message>
        <source>Remove the selected check</source>
        <translation>删除选中的校验</translation>
    </message>
    <message>
        <source>sum: a total equals the sum of a table column</source>
        <translation>求和：总计等于表格某列之和</translation>
    </message>
    <message>
        <source>not in the future: a date or time</source>
        <translation>不晚于现在：日期或时间</translation>
    </message>
    <message>
        <source>compare: a field with another field or a number</source>
        <translation>比较：字段与另一字段或数字</translation>
    </message>
    <message>
        <source>Total field</source>
        <translation>总计字段</translation>
    </message>
    <message>
        <source>Sum of (table.column)</source>
        <translation>求和（表格.列）</translation>
    </message>
    <message>
        <source>Date field</source>
        <translation>日期字段</translation>
    </message>
    <message>
        <source>Left (field or number)</source>
        <translation>左边（字段或数字）</translation>
    </message>
    <message>
        <source>Operator</source>
        <translation>运算符</translation>
    </message>
    <message>
        <source>Right (field or number)</source>
        <translation>右边（字段或数字）</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>类别</translation>
    </message>
    <message>
        <source>%1 not in the future</source>
        <translation>%1 不晚于现在</translation>
    </message>
    <message>
        <source>Tolerance</source>
        <translation>容差</translation>
    </message>
    <message>
        <source>Add check</source>
        <translation>添加校验</translation>
    </message>
    <message>
        <source>Remove check</source>
        <translation>删除校验</translation>
    </message>
</context>
<context>
    <name>FieldEditor</name>
    <message>
        <source>Select a box, or draw one (F: field, A: anchor, T: table)</source>
        <translation>选择一个框，或画一个新框（F：字段，A：锚点，T：表格）</translation>
    </message>
    <message>
        <source>personal data (patient name, ID)</source>
        <translation>个人信息（患者姓名、ID）</translation>
    </message>
    <message>
        <source>part of the record identity</source>
        <translation>属于记录标识</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <source>Label</source>
        <translation>标签</translation>
    </message>
    <message>
        <source>Box x, y, w, h</source>
        <translation>框 x, y, 宽, 高</translation>
    </message>
    <message>
        <source>Row height</source>
        <translation>行高</translation>
    </message>
    <message>
        <source>Header height</source>
        <translation>表头高度</translation>
    </message>
    <message>
        <source>Max rows</source>
        <translation>最多行数</translation>
    </message>
    <message>
        <source>Min rows</source>
        <translation>最少行数</translation>
    </message>
    <message>
        <source>Column</source>
        <translation>列</translation>
    </message>
    <message>
        <source>Type</source>
        <translation>类型</translation>
    </message>
    <message>
        <source>Unit</source>
        <translation>单位</translation>
    </message>
    <message>
        <source>Regex</source>
        <translation>正则表达式</translation>
    </message>
    <message>
        <source>Range min..max</source>
        <translation>范围 最小..最大</translation>
    </message>
    <message>
        <source>Choices</source>
        <translation>可选值</translation>
    </message>
    <message>
        <source>Add column</source>
        <translation>添加列</translation>
    </message>
    <message>
        <source>Remove column</source>
        <translation>删除列</translation>
    </message>
    <message>
        <source>Columns from gaps</source>
        <translation>按间隙分列</translation>
    </message>
    <message>
        <source>optional: text confirmed by OCR</source>
        <translation>可选：由 OCR 确认的文字</translation>
    </message>
    <message>
        <source>Text</source>
        <translation>文字</translation>
    </message>
    <message>
        <source>Weight</source>
        <translation>权重</translation>
    </message>
    <message>
        <source>Anchor</source>
        <translation>锚点</translation>
    </message>
    <message>
        <source>Table field</source>
        <translation>表格字段</translation>
    </message>
    <message>
        <source>Field</source>
        <translation>字段</translation>
    </message>
    <message>
        <source>Edit box</source>
        <translation>编辑框</translation>
    </message>
</context>
<context>
    <name>FieldReading</name>
    <message>
        <source>live OCR %1 ms</source>
        <translation>实时识别 %1 毫秒</translation>
    </message>
    <message>
        <source>Read: «%1» → %2, confidence %3 %4</source>
        <translation>识别：«%1» → %2，置信度 %3 %4</translation>
    </message>
    <message>
        <source>Cannot read the template</source>
        <translation>无法读取模板</translation>
    </message>
    <message>
        <source>Checks: %1</source>
        <translation>校验：%1</translation>
    </message>
</context>
<context>
    <name>FlowPanel</name>
    <message>
        <source>title</source>
        <translation>标题</translation>
    </message>
    <message>
        <source>New flow</source>
        <translation>新建流程</translation>
    </message>
    <message>
        <source>Open flow…</source>
        <translation>打开流程…</translation>
    </message>
    <message>
        <source>Save flow…</source>
        <translation>保存流程…</translation>
    </message>
    <message>
        <source>Record</source>
        <translation>录制</translation>
    </message>
    <message>
        <source>Record clicks and keys on the screen (Ctrl+R); clicks in this window are ignored</source>
        <translation>录制屏幕上的点击和按键 (Ctrl+R)；本窗口内的点击不录制</translation>
    </message>
    <message>
        <source>Step</source>
        <translation>单步</translation>
    </message>
    <message>
        <source>Replay the highlighted step (F10)</source>
        <translation>回放高亮的步骤 (F10)</translation>
    </message>
    <message>
        <source>Run to end</source>
        <translation>运行到结束</translation>
    </message>
    <message>
        <source>Rewind</source>
        <translation>从头开始</translation>
    </message>
    <message>
        <source>dry run</source>
        <translation>演练（不发送输入）</translation>
    </message>
    <message>
        <source>Flow id</source>
        <translation>流程 ID</translation>
    </message>
    <message>
        <source>Delete step</source>
        <translation>删除步骤</translation>
    </message>
    <message>
        <source>Add wait before</source>
        <translation>在前面加等待</translation>
    </message>
    <message>
        <source>Wait until this step's target appears (instead of a fixed delay)</source>
        <translation>等待此步骤的目标出现（代替固定延时）</translation>
    </message>
    <message>
        <source>The selected step as YAML</source>
        <translation>所选步骤（YAML）</translation>
    </message>
    <message>
        <source>Apply step</source>
        <translation>应用步骤</translation>
    </message>
    <message>
        <source>next step to replay</source>
        <translation>下一个要回放的步骤</translation>
    </message>
    <message>
        <source>a step is a mapping with one action key</source>
        <translation>一个步骤是只含一个动作键的映射</translation>
    </message>
    <message>
        <source>Not applied: %1</source>
        <translation>未应用：%1</translation>
    </message>
    <message>
        <source>Step %1 changed</source>
        <translation>第 %1 步已修改</translation>
    </message>
    <message>
        <source>Only a step with an image target can be waited for</source>
        <translation>只有以图像为目标的步骤才能等待</translation>
    </message>
    <message>
        <source>Cannot open the flow: %1</source>
        <translation>无法打开流程：%1</translation>
    </message>
    <message>
        <source>The flow is not valid: %1</source>
        <translation>流程无效：%1</translation>
    </message>
    <message>
        <source>Saved %1</source>
        <translation>已保存 %1</translation>
    </message>
    <message>
        <source>Open a flow</source>
        <translation>打开流程</translation>
    </message>
    <message>
        <source>Flows (*.yaml *.yml)</source>
        <translation>流程 (*.yaml *.yml)</translation>
    </message>
    <message>
        <source>Save the flow</source>
        <translation>保存流程</translation>
    </message>
    <message>
        <source>Flows (*.yaml)</source>
        <translation>流程 (*.yaml)</translation>
    </message>
    <message>
        <source>Cannot record: %1</source>
        <translation>无法录制：%1</translation>
    </message>
    <message>
        <source>Recording: click and type in the program; press Record again to stop</source>
        <translation>录制中：请在程序中点击和输入；再按“录制”停止</translation>
    </message>
    <message>
        <source>Recorded %1 steps</source>
        <translation>已录制 %1 个步骤</translation>
    </message>
    <message>
        <source>Step %1 is not valid: %2</source>
        <translation>第 %1 步无效：%2</translation>
    </message>
    <message>
        <source>Running step %1…</source>
        <translation>正在运行第 %1 步…</translation>
    </message>
    <message>
        <source>Step %1 done</source>
        <translation>第 %1 步完成</translation>
    </message>
    <message>
        <source>Step %1 failed: %2</source>
        <translation>第 %1 步失败：%2</translation>
    </message>
</context>
<context>
    <name>ItemsPanel</name>
    <message>
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>类别</translation>
    </message>
    <message>
        <source>Text</source>
        <translation>文字</translation>
    </message>
    <message>
        <source>anchor</source>
        <translation>锚点</translation>
    </message>
    <message>
        <source>value</source>
        <translation>数值</translation>
    </message>
    <message>
        <source>table</source>
        <translation>表格</translation>
    </message>
    <message>
        <source>too small to be found reliably</source>
        <translation>太小，无法可靠地找到</translation>
    </message>
    <message>
        <source>at the edge of the frame: a window moved to the screen's edge cuts it off</source>
        <translation>在画面边缘：窗口移到屏幕边缘时会被截断</translation>
    </message>
    <message>
        <source>crosses a window edge: what is beside the window changes when it moves</source>
        <translation>跨越窗口边缘：窗口移动后旁边的内容会变化</translation>
    </message>
    <message>
        <source>nearly plain: nothing to recognise</source>
        <translation>几乎是纯色：没有可识别的内容</translation>
    </message>
    <message>
        <source>also on template %1 (%2): not distinctive in the pack</source>
        <translation>也出现在模板 %1 上（%2）：在模板包中不够独特</translation>
    </message>
    <message>
        <source>reference</source>
        <translation>参考</translation>
    </message>
    <message>
        <source>score %1</source>
        <translation>得分 %1</translation>
    </message>
    <message>
        <source>outside the frame</source>
        <translation>在画面之外</translation>
    </message>
    <message>
        <source>below %1</source>
        <translation>低于 %1</translation>
    </message>
    <message>
        <source>not seen (%1): not counted</source>
        <translation>未见（%1）：不计入</translation>
    </message>
    <message>
        <source>Value</source>
        <translation>数值</translation>
    </message>
    <message>
        <source>Confidence</source>
        <translation>置信度</translation>
    </message>
    <message>
        <source>Valid</source>
        <translation>有效</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>qcedge teach</source>
        <translation>qcedge 示教</translation>
    </message>
    <message>
        <source>Fields</source>
        <translation>字段</translation>
    </message>
    <message>
        <source>Field</source>
        <translation>字段</translation>
    </message>
    <message>
        <source>Template</source>
        <translation>模板</translation>
    </message>
    <message>
        <source>Checks</source>
        <translation>校验</translation>
    </message>
    <message>
        <source>Editor</source>
        <translation>编辑器</translation>
    </message>
    <message>
        <source>Source</source>
        <translation>来源</translation>
    </message>
    <message>
        <source>Proposals</source>
        <translation>建议</translation>
    </message>
    <message>
        <source>Test</source>
        <translation>测试</translation>
    </message>
    <message>
        <source>Flow</source>
        <translation>流程</translation>
    </message>
    <message>
        <source>Tools</source>
        <translation>工具</translation>
    </message>
    <message>
        <source>New template</source>
        <translation>新建模板</translation>
    </message>
    <message>
        <source>Start a new template on the frame shown (it becomes the reference)</source>
        <translation>在当前画面上新建模板（当前画面成为参考图像）</translation>
    </message>
    <message>
        <source>Open source…</source>
        <translation>打开来源…</translation>
    </message>
    <message>
        <source>Open a still, a folder of stills, a video or a DICOM screen save to teach on</source>
        <translation>打开图片、图片文件夹、录像或 DICOM 屏幕存档进行示教</translation>
    </message>
    <message>
        <source>Open live source…</source>
        <translation>打开实时来源…</translation>
    </message>
    <message>
        <source>Teach on the live screen, a capture card or a stream (freeze it with F9)</source>
        <translation>在实时屏幕、采集卡或视频流上示教（F9 冻结）</translation>
    </message>
    <message>
        <source>Open template…</source>
        <translation>打开模板…</translation>
    </message>
    <message>
        <source>Edit a saved template; its reference image is shown</source>
        <translation>编辑已保存的模板，并显示其参考图像</translation>
    </message>
    <message>
        <source>Save template</source>
        <translation>保存模板</translation>
    </message>
    <message>
        <source>Save the template (YAML) and its reference image beside it</source>
        <translation>保存模板（YAML）及其旁边的参考图像</translation>
    </message>
    <message>
        <source>Save template as…</source>
        <translation>模板另存为…</translation>
    </message>
    <message>
        <source>Save the template under another name</source>
        <translation>以另一个名称保存模板</translation>
    </message>
    <message>
        <source>Open template pack…</source>
        <translation>打开模板包…</translation>
    </message>
    <message>
        <source>Pick a template of a pack folder (with pack.yaml) to edit</source>
        <translation>从模板包文件夹（含 pack.yaml）中选择要编辑的模板</translation>
    </message>
    <message>
        <source>Add to template pack…</source>
        <translation>加入模板包…</translation>
    </message>
    <message>
        <source>Write this template into a pack folder for the stations</source>
        <translation>把本模板写入供工作站使用的模板包文件夹</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>退出</translation>
    </message>
    <message>
        <source>Undo</source>
        <translation>撤销</translation>
    </message>
    <message>
        <source>Redo</source>
        <translation>重做</translation>
    </message>
    <message>
        <source>Delete box</source>
        <translation>删除框</translation>
    </message>
    <message>
        <source>Delete the selected box (undo brings it back)</source>
        <translation>删除选中的框（可撤销）</translation>
    </message>
    <message>
        <source>Select, move and resize boxes; drag the background to pan</source>
        <translation>选择、移动和调整框；拖动背景可平移</translation>
    </message>
    <message>
        <source>Draw an anchor: a patch that never changes (title, logo) by which the screen is recognised and located</source>
        <translation>画锚点：一块不会变化的区域（标题、徽标），用来识别并定位界面</translation>
    </message>
    <message>
        <source>Draw a field around a value: the box becomes the value's slot (its input widget or the space up to the next text)</source>
        <translation>在数值周围画字段：框会成为数值的位置（输入框，或直到下一段文字的空白）</translation>
    </message>
    <message>
        <source>Draw a table around rows of values; columns come from its grid lines</source>
        <translation>在多行数值周围画表格；按表格线分列</translation>
    </message>
    <message>
        <source>Select / move</source>
        <translation>选择/移动</translation>
    </message>
    <message>
        <source>Draw anchor</source>
        <translation>画锚点</translation>
    </message>
    <message>
        <source>Draw field</source>
        <translation>画字段</translation>
    </message>
    <message>
        <source>Draw table</source>
        <translation>画表格</translation>
    </message>
    <message>
        <source>Select tool</source>
        <translation>选择工具</translation>
    </message>
    <message>
        <source>Snap boxes to text</source>
        <translation>框贴合文字</translation>
    </message>
    <message>
        <source>A drawn field grows to its slot, an anchor shrinks to its ink; off: boxes stay as drawn</source>
        <translation>画出的字段框扩展到它的输入位置，锚点框收紧到文字；关闭后框保持原样</translation>
    </message>
    <message>
        <source>Propose fields</source>
        <translation>提议字段</translation>
    </message>
    <message>
        <source>Find label/value pairs on this frame (the visible part when zoomed in)</source>
        <translation>在本画面上查找标签/数值对（放大时只查可见部分）</translation>
    </message>
    <message>
        <source>Propose from several frames</source>
        <translation>从多个画面提议字段</translation>
    </message>
    <message>
        <source>Find label/value pairs on this and up to 4 other frames of the source: boxes hold the longest value, types fit every value</source>
        <translation>在本画面和来源中最多另外 4 个画面上查找标签/数值对：框能容纳最长的数值，类型适合所有数值</translation>
    </message>
    <message>
        <source>Read all fields</source>
        <translation>读取全部字段</translation>
    </message>
    <message>
        <source>Read every field and run the checks on this frame</source>
        <translation>在本画面上读取所有字段并运行校验</translation>
    </message>
    <message>
        <source>Test on frames…</source>
        <translation>用画面文件测试…</translation>
    </message>
    <message>
        <source>Match and read the template on chosen frame files (stills, recordings, DICOM)</source>
        <translation>在所选画面文件（图片、录像、DICOM）上匹配并读取模板</translation>
    </message>
    <message>
        <source>Test on a folder…</source>
        <translation>用文件夹测试…</translation>
    </message>
    <message>
        <source>Match and read the template on every frame of a folder</source>
        <translation>在文件夹中的每个画面上匹配并读取模板</translation>
    </message>
    <message>
        <source>Test on a recording…</source>
        <translation>在录像上测试…</translation>
    </message>
    <message>
        <source>Match and read the template on the changed frames of a recording</source>
        <translation>在录像中变化的画面上匹配并读取模板</translation>
    </message>
    <message>
        <source>Run the test again</source>
        <translation>再次运行测试</translation>
    </message>
    <message>
        <source>Test again on the same frames (after changing the template)</source>
        <translation>在相同画面上再次测试（修改模板之后）</translation>
    </message>
    <message>
        <source>Use this frame as the reference</source>
        <translation>以本画面为参考图像</translation>
    </message>
    <message>
        <source>The frame shown becomes the template's reference image; the boxes stay where they are on it</source>
        <translation>当前画面成为模板的参考图像；框保持在画面上的位置</translation>
    </message>
    <message>
        <source>Freeze frame</source>
        <translation>冻结画面</translation>
    </message>
    <message>
        <source>Stop (or resume) a live source on the current frame</source>
        <translation>在当前画面上停止（或恢复）实时来源</translation>
    </message>
    <message>
        <source>Zoom in</source>
        <translation>放大</translation>
    </message>
    <message>
        <source>Zoom out</source>
        <translation>缩小</translation>
    </message>
    <message>
        <source>Fit frame</source>
        <translation>适应窗口</translation>
    </message>
    <message>
        <source>Show the whole frame (Ctrl+0)</source>
        <translation>显示整个画面 (Ctrl+0)</translation>
    </message>
    <message>
        <source>Previous frame</source>
        <translation>上一帧</translation>
    </message>
    <message>
        <source>Next frame</source>
        <translation>下一帧</translation>
    </message>
    <message>
        <source>Teaching guide</source>
        <translation>示教指南</translation>
    </message>
    <message>
        <source>Open the teaching guide (docs/teaching.md)</source>
        <translation>打开示教指南 (docs/teaching.md)</translation>
    </message>
    <message>
        <source>Template file format</source>
        <translation>模板文件格式</translation>
    </message>
    <message>
        <source>Open the template reference (docs/templates.md)</source>
        <translation>打开模板说明 (docs/templates.md)</translation>
    </message>
    <message>
        <source>About qcedge teach</source>
        <translation>关于 qcedge 示教</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <source>&amp;Edit</source>
        <translation>编辑(&amp;E)</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>视图(&amp;V)</translation>
    </message>
    <message>
        <source>&amp;Template</source>
        <translation>模板(&amp;T)</translation>
    </message>
    <message>
        <source>&amp;Language</source>
        <translation>语言(&amp;L)</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <source>Main</source>
        <translation>主工具栏</translation>
    </message>
    <message>
        <source>Help</source>
        <translation>帮助</translation>
    </message>
    <message>
        <source>The guide %1 is not installed here.</source>
        <translation>此处未安装指南 %1。</translation>
    </message>
    <message>
        <source>qcedge teach — help</source>
        <translation>qcedge 示教 — 帮助</translation>
    </message>
    <message>
        <source>qcedge teach: teach the screens the station reads, test the templates on recorded frames, and record the flows it replays.</source>
        <translation>qcedge 示教：示教工作站要读取的界面，在录制的画面上测试模板，并录制它回放的流程。</translation>
    </message>
    <message>
        <source>New template: draw anchors and fields, or propose (Ctrl+P)</source>
        <translation>新建模板：画锚点和字段，或提议字段 (Ctrl+P)</translation>
    </message>
    <message>
        <source>Save the template first?</source>
        <translation>先保存模板吗？</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <source>The language changes when qcedge teach starts next time.</source>
        <translation>下次启动 qcedge teach 时切换语言。</translation>
    </message>
    <message>
        <source>Unsaved changes</source>
        <translation>未保存的修改</translation>
    </message>
    <message>
        <source>Save the template before closing?</source>
        <translation>关闭前保存模板吗？</translation>
    </message>
</context>
<context>
    <name>ProposalsPanel</name>
    <message>
        <source>Propose (Ctrl+P) detects all text on the frame and offers label/value pairs.</source>
        <translation>提议 (Ctrl+P) 会检测画面上的全部文字，并给出“标签/数值”对。</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <source>Label</source>
        <translation>标签</translation>
    </message>
    <message>
        <source>Value text</source>
        <translation>数值文字</translation>
    </message>
    <message>
        <source>Type</source>
        <translation>类型</translation>
    </message>
    <message>
        <source>Unit</source>
        <translation>单位</translation>
    </message>
    <message>
        <source>Accept the likely ones</source>
        <translation>采纳可能的字段</translation>
    </message>
    <message>
        <source>Add every proposal that looks like a form field (not the greyed list, toolbar or status-bar text) as a field</source>
        <translation>把所有像表单字段的建议添加为字段（灰色的列表、工具栏和状态栏文字除外）</translation>
    </message>
    <message>
        <source>Clear</source>
        <translation>清空</translation>
    </message>
    <message>
        <source>Drop all proposals</source>
        <translation>丢弃所有建议</translation>
    </message>
    <message>
        <source>Add «%1» as the field %2</source>
        <translation>将“%1”添加为字段 %2</translation>
    </message>
    <message>
        <source>Reject</source>
        <translation>丢弃</translation>
    </message>
    <message>
        <source>Drop this proposal</source>
        <translation>丢弃这条建议</translation>
    </message>
    <message>
        <source>Probably not a form field (list, toolbar or status-bar text)</source>
        <translation>可能不是表单字段（列表、工具栏或状态栏文字）</translation>
    </message>
    <message numerus="yes">
        <source>%n proposal(s): click Accept to add one as a field, or double-click its box on the frame.</source>
        <translation>
            <numerusform>%n 条建议：点击“采纳”将其添加为字段，或在画面上双击它的框。</numerusform></translation>
    </message>
    <message>
        <source>%1 look like form fields.</source>
        <translation>其中 %1 条像表单字段。</translation>
    </message>
    <message>
        <source>Accept</source>
        <translation>采纳</translation>
    </message>
</context>
<context>
    <name>Proposer</name>
    <message numerus="yes">
        <source>Detecting text on %n frame(s)…</source>
        <translation>
            <numerusform>正在检测 %n 个画面上的文字…</numerusform></translation>
    </message>
    <message>
        <source>Propose failed</source>
        <translation>提议失败</translation>
    </message>
    <message numerus="yes">
        <source>%n proposal(s)</source>
        <translation>
            <numerusform>%n 条建议</numerusform></translation>
    </message>
    <message>
        <source>Accept proposals</source>
        <translation>采纳建议</translation>
    </message>
    <message>
        <source>Accept proposal</source>
        <translation>采纳建议</translation>
    </message>
</context>
<context>
    <name>SourceControl</name>
    <message>
        <source>Cannot open the source</source>
        <translation>无法打开来源</translation>
    </message>
    <message>
        <source>Still image</source>
        <translation>图片</translation>
    </message>
    <message>
        <source>Folder of stills</source>
        <translation>图片文件夹</translation>
    </message>
    <message>
        <source>Video file</source>
        <translation>视频文件</translation>
    </message>
    <message>
        <source>DICOM screen save</source>
        <translation>DICOM 屏幕存档</translation>
    </message>
    <message>
        <source>Live source</source>
        <translation>实时来源</translation>
    </message>
    <message>
        <source>Opened %1</source>
        <translation>已打开 %1</translation>
    </message>
    <message>
        <source>Cannot read the frame</source>
        <translation>无法读取画面</translation>
    </message>
    <message>
        <source>Cannot match the template</source>
        <translation>无法匹配模板</translation>
    </message>
    <message>
        <source>Template matched on this frame (score %1): boxes are shown where they are on it</source>
        <translation>模板已在本画面上匹配（得分 %1）：框显示在画面上的对应位置</translation>
    </message>
    <message>
        <source>No match on this frame: %1 (another screen? File &gt; New template, or Template &gt; Use this frame as the reference)</source>
        <translation>本画面未匹配：%1（是另一个界面？文件 &gt; 新建模板，或 模板 &gt; 以本画面为参考图像）</translation>
    </message>
    <message>
        <source>The live source stopped</source>
        <translation>实时来源已停止</translation>
    </message>
    <message>
        <source>Frame frozen</source>
        <translation>画面已冻结</translation>
    </message>
    <message>
        <source>Live</source>
        <translation>实时</translation>
    </message>
    <message>
        <source>Open a still, video or DICOM file</source>
        <translation>打开图片、视频或 DICOM 文件</translation>
    </message>
    <message>
        <source>Frames (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.mp4 *.avi *.mkv *.mov *.dcm);;All files (*)</source>
        <translation>画面 (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.mp4 *.avi *.mkv *.mov *.dcm);;所有文件 (*)</translation>
    </message>
    <message>
        <source>Open a live source</source>
        <translation>打开实时来源</translation>
    </message>
    <message>
        <source>Source (screen, screen:1, device:0, udp://…, rtsp://…, a folder):</source>
        <translation>来源（screen、screen:1、device:0、udp://…、rtsp://…、文件夹）：</translation>
    </message>
</context>
<context>
    <name>SourcePanel</name>
    <message>
        <source>No source</source>
        <translation>未打开来源</translation>
    </message>
    <message>
        <source>Freeze</source>
        <translation>冻结</translation>
    </message>
    <message>
        <source>live</source>
        <translation>实时</translation>
    </message>
</context>
<context>
    <name>TemplateFiles</name>
    <message>
        <source>Open recent</source>
        <translation>最近打开</translation>
    </message>
    <message>
        <source>Cannot open the template</source>
        <translation>无法打开模板</translation>
    </message>
    <message>
        <source>Opened %1</source>
        <translation>已打开 %1</translation>
    </message>
    <message>
        <source>Open a template</source>
        <translation>打开模板</translation>
    </message>
    <message>
        <source>Templates (*.yaml *.yml)</source>
        <translation>模板 (*.yaml *.yml)</translation>
    </message>
    <message>
        <source>Save the template</source>
        <translation>保存模板</translation>
    </message>
    <message>
        <source>Templates (*.yaml)</source>
        <translation>模板 (*.yaml)</translation>
    </message>
    <message>
        <source>The template is not valid yet</source>
        <translation>模板尚不完整</translation>
    </message>
    <message>
        <source>Saved %1</source>
        <translation>已保存 %1</translation>
    </message>
    <message>
        <source>Cannot open the template pack</source>
        <translation>无法打开模板包</translation>
    </message>
    <message>
        <source>Template pack %1 version %2</source>
        <translation>模板包 %1 版本 %2</translation>
    </message>
    <message>
        <source>Template to edit:</source>
        <translation>要编辑的模板：</translation>
    </message>
    <message>
        <source>Open a template pack folder</source>
        <translation>打开模板包文件夹</translation>
    </message>
    <message>
        <source>Template pack folder</source>
        <translation>模板包文件夹</translation>
    </message>
    <message>
        <source>Pack version</source>
        <translation>模板包版本</translation>
    </message>
    <message>
        <source>Version of the pack:</source>
        <translation>模板包版本：</translation>
    </message>
    <message>
        <source>Cannot write the template pack</source>
        <translation>无法写入模板包</translation>
    </message>
</context>
<context>
    <name>TemplateForm</name>
    <message>
        <source>Template id</source>
        <translation>模板 ID</translation>
    </message>
    <message>
        <source>Version</source>
        <translation>版本</translation>
    </message>
    <message>
        <source>Title</source>
        <translation>标题</translation>
    </message>
    <message>
        <source>Program</source>
        <translation>程序</translation>
    </message>
    <message>
        <source>Screen</source>
        <translation>界面</translation>
    </message>
    <message>
        <source>Modality</source>
        <translation>检查类型</translation>
    </message>
    <message>
        <source>Confidence floor</source>
        <translation>置信度下限</translation>
    </message>
    <message>
        <source>Match threshold</source>
        <translation>匹配阈值</translation>
    </message>
</context>
<context>
    <name>TemplateTester</name>
    <message>
        <source>Frames to test on</source>
        <translation>用于测试的画面</translation>
    </message>
    <message>
        <source>Frames and recordings (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.dcm *.mp4 *.avi *.mkv *.mov *.ts);;All files (*)</source>
        <translation>画面和录像 (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.dcm *.mp4 *.avi *.mkv *.mov *.ts);;所有文件 (*)</translation>
    </message>
    <message>
        <source>Folder of frames to test on</source>
        <translation>用于测试的画面文件夹</translation>
    </message>
    <message>
        <source>Recording to test on</source>
        <translation>用于测试的录像</translation>
    </message>
    <message>
        <source>Recordings (*.mp4 *.avi *.mkv *.mov *.ts);;All files (*)</source>
        <translation>录像 (*.mp4 *.avi *.mkv *.mov *.ts);;所有文件 (*)</translation>
    </message>
    <message>
        <source>The template is not valid yet</source>
        <translation>模板尚不完整</translation>
    </message>
    <message>
        <source>%1 files</source>
        <translation>%1 个文件</translation>
    </message>
    <message>
        <source>Testing on %1…</source>
        <translation>正在测试 %1…</translation>
    </message>
    <message>
        <source>The test failed: %1</source>
        <translation>测试失败：%1</translation>
    </message>
    <message>
        <source>The test failed</source>
        <translation>测试失败</translation>
    </message>
    <message>
        <source>%1 frames: %2 matched (%3 complete, %4 need review), %5 did not match, %6 errors</source>
        <translation>%1 帧：%2 帧匹配（%3 帧完整，%4 帧需复核），%5 帧未匹配，%6 帧出错</translation>
    </message>
    <message>
        <source>error: %1</source>
        <translation>出错：%1</translation>
    </message>
</context>
<context>
    <name>TestPanel</name>
    <message>
        <source>Test (Ctrl+T) runs the template over a folder of frames or a recording.</source>
        <translation>测试 (Ctrl+T) 用模板读取一个画面文件夹或一段录像。</translation>
    </message>
    <message>
        <source>Frame</source>
        <translation>画面</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Match (failing anchors)</source>
        <translation>匹配（失败的锚点）</translation>
    </message>
    <message>
        <source>Checks</source>
        <translation>校验</translation>
    </message>
    <message>
        <source>not seen (%1): not counted</source>
        <translation>未见（%1）：不计入</translation>
    </message>
    <message>
        <source>below %1</source>
        <translation>低于 %1</translation>
    </message>
    <message>
        <source>match</source>
        <translation>匹配</translation>
    </message>
    <message>
        <source>: score %1 (threshold %2)</source>
        <translation>：得分 %1（阈值 %2）</translation>
    </message>
    <message>
        <source>the anchors together score below the threshold; weakest: %1 %2</source>
        <translation>锚点的综合得分低于阈值；最弱：%1 %2</translation>
    </message>
    <message>
        <source>complete</source>
        <translation>完整</translation>
    </message>
    <message>
        <source>needs review</source>
        <translation>需复核</translation>
    </message>
    <message>
        <source>no match</source>
        <translation>未匹配</translation>
    </message>
    <message>
        <source>error</source>
        <translation>出错</translation>
    </message>
    <message>
        <source>outside the frame</source>
        <translation>在画面之外</translation>
    </message>
    <message>
        <source>No failed fields in this frame.</source>
        <translation>此帧没有失败的字段。</translation>
    </message>
</context>
<context>
    <name>ValueSpecForm</name>
    <message>
        <source>min</source>
        <translation>最小</translation>
    </message>
    <message>
        <source>max</source>
        <translation>最大</translation>
    </message>
    <message>
        <source>comma separated (enum)</source>
        <translation>逗号分隔（枚举）</translation>
    </message>
    <message>
        <source>required</source>
        <translation>必填</translation>
    </message>
    <message>
        <source>fix O/0, l/1, S/5 confusions</source>
        <translation>纠正 O/0、l/1、S/5 混淆</translation>
    </message>
    <message>
        <source>template default</source>
        <translation>模板默认值</translation>
    </message>
    <message>
        <source>Type</source>
        <translation>类型</translation>
    </message>
    <message>
        <source>Unit</source>
        <translation>单位</translation>
    </message>
    <message>
        <source>Regex</source>
        <translation>正则表达式</translation>
    </message>
    <message>
        <source>Range</source>
        <translation>范围</translation>
    </message>
    <message>
        <source>Allowed characters</source>
        <translation>允许字符</translation>
    </message>
    <message>
        <source>Choices</source>
        <translation>可选值</translation>
    </message>
    <message>
        <source>Format</source>
        <translation>格式</translation>
    </message>
    <message>
        <source>Confidence floor</source>
        <translation>置信度下限</translation>
    </message>
</context>
<context>
    <name>canvas</name>
    <message>
        <source>Proposal: double-click accepts it, right-click rejects it</source>
        <translation>建议：双击采纳，右键丢弃</translation>
    </message>
</context>
<context>
    <name>types</name>
    <message>
        <source>text</source>
        <translation>文本</translation>
    </message>
    <message>
        <source>integer</source>
        <translation>整数</translation>
    </message>
    <message>
        <source>decimal</source>
        <translation>小数</translation>
    </message>
    <message>
        <source>date</source>
        <translation>日期</translation>
    </message>
    <message>
        <source>time</source>
        <translation>时间</translation>
    </message>
    <message>
        <source>date and time</source>
        <translation>日期时间</translation>
    </message>
    <message>
        <source>choice (enum)</source>
        <translation>选项（枚举）</translation>
    </message>
    <message>
        <source>code (ID, number as text)</source>
        <translation>编码（ID、按文字处理的数字）</translation>
    </message>
</context>
</TS>